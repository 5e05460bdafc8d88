/**
 * Slow jobs, paid the way BlockRun's gateway expects (issue #13): the sandbox answers slow models
 * with a 202 and a poll_url, refuses unpaid polls, binds the job to the payer, re-verifies every
 * poll (refusing an authorization 6 s before it expires) and settles on the first completed poll.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterEach, describe, expect, it } from 'vitest'
import { readLedger } from '../server/payment/ledger.js'
import { makeImage } from './helpers/images.js'
import { stackThroughRelay, type RelayedStack } from './helpers/relay.js'
import { startStack, type Stack } from './helpers/stack.js'

/** A model the sandbox always answers with a 202 job (its catalog marks it slow: gpt-image-2, as on the gateway). */
const SLOW_MODEL = 'gpt-image-2'

let stack: Stack | undefined
let relayed: RelayedStack | undefined
afterEach(async () => {
  await stack?.close()
  await relayed?.close()
  stack = relayed = undefined
})

/** The nonces the sandbox saw presented (POST and polls alike), from its settled transfers and the ledger. */
async function ledgerOf(home: string) {
  return (await readLedger(home)).map((p) => ({ status: p.status, nonce: p.nonce, replaces: p.replaces, transaction: p.transaction }))
}

describe('202 jobs', () => {
  it('a slow generation completes with one authorization, one settlement, paid polls only, at the configured cadence', async () => {
    stack = await startStack({ sandbox: { jobMs: 1200 }, settings: { pollIntervalSeconds: 0.25 } })
    const posted = Date.now()
    const { status, body } = await stack.post('/v1/images/generations', { model: SLOW_MODEL, prompt: 'a slow lighthouse' })
    expect(status, JSON.stringify(body)).toBe(200)
    expect(body.data).toHaveLength(1)
    const { counters, polls, usdc } = stack.sandbox
    // One authorization (the paid POST's), presented again on every poll; never an unpaid poll.
    expect(counters.authorizations).toBe(1)
    expect(counters.unpaidPolls).toBe(0)
    expect(polls.every((p) => p.paid)).toBe(true)
    expect(usdc.transfers).toHaveLength(1)
    const ledger = await ledgerOf(stack.home)
    expect(ledger).toEqual([{ status: 'settled', nonce: usdc.transfers[0]!.nonce, replaces: undefined, transaction: usdc.transfers[0]!.transaction }])
    expect(body.cost.transaction).toBe(usdc.transfers[0]!.transaction)
    // Pending answers came both ways (202 queued, 200 in_progress) and the last poll completed.
    expect(new Set(polls.map((p) => p.status))).toEqual(new Set([202, 200]))
    // Never faster than the interval: the first poll after the first wait, then one per interval.
    expect(polls[0]!.time - posted).toBeGreaterThanOrEqual(240)
    for (let i = 1; i < polls.length; i++) expect(polls[i]!.time - polls[i - 1]!.time).toBeGreaterThanOrEqual(240)
    expect(polls.length).toBeLessThanOrEqual(7)
  })

  it("BlockRun's default cadence: a first wait of about 2 s, then about 3 s between polls", async () => {
    stack = await startStack({ sandbox: { jobMs: 2500 }, settings: { pollIntervalSeconds: 3 } })
    const posted = Date.now()
    const { status } = await stack.post('/v1/images/generations', { model: SLOW_MODEL, prompt: 'default cadence' })
    expect(status).toBe(200)
    const { polls } = stack.sandbox
    expect(polls).toHaveLength(2)
    expect(polls[0]!.time - posted).toBeGreaterThanOrEqual(1990)
    expect(polls[1]!.time - polls[0]!.time).toBeGreaterThanOrEqual(2990)
  })

  it('a slow edit (image2image) completes through its job the same way', async () => {
    stack = await startStack({ sandbox: { forms: { 'openai/gpt-image-1': 'job' }, jobMs: 300 } })
    const image = `data:image/png;base64,${(await makeImage(256, 256)).toString('base64')}`
    const { status, body } = await stack.post('/v1/images/image2image', { model: 'gpt-image-1', prompt: 'make it night', image })
    expect(status, JSON.stringify(body)).toBe(200)
    expect(stack.sandbox.counters.authorizations).toBe(1)
    expect(stack.sandbox.counters.unpaidPolls).toBe(0)
    expect(stack.sandbox.polls.length).toBeGreaterThan(0)
    expect(stack.sandbox.polls.every((p) => p.paid)).toBe(true)
    expect(stack.sandbox.usdc.transfers).toHaveLength(1)
    expect((await ledgerOf(stack.home)).map((p) => p.status)).toEqual(['settled'])
  })

  it('a job that outlives its authorization: one fresh authorization from the same wallet, one settlement', async () => {
    // Authorizations live 8 s and verifiers refuse them 6 s before the end: 2 s of polls each.
    stack = await startStack({ sandbox: { jobMs: 3000, maxTimeoutSeconds: 8 }, settings: { pollIntervalSeconds: 0.2 } })
    const { status, body } = await stack.post('/v1/images/generations', { model: SLOW_MODEL, prompt: 'outlives its payment' })
    expect(status, JSON.stringify(body)).toBe(200)
    const ledger = await ledgerOf(stack.home)
    expect(ledger.map((p) => p.status)).toEqual(['refused', 'settled'])
    expect(ledger[1]!.replaces).toBeDefined()
    expect(ledger[0]!.nonce).not.toBe(ledger[1]!.nonce)
    // The one transfer is the fresh authorization's.
    expect(stack.sandbox.usdc.transfers).toHaveLength(1)
    expect(stack.sandbox.usdc.transfers[0]!.nonce).toBe(ledger[1]!.nonce)
    expect(body.cost.transaction).toBe(stack.sandbox.usdc.transfers[0]!.transaction)
    // The renewal came from the poll's own 402: no unpaid challenge was needed.
    expect(stack.sandbox.counters.unpaidPolls).toBe(0)
  })

  it('renews at most twice per job, then stops with every authorization in the ledger and nothing settled', async () => {
    stack = await startStack({ sandbox: { jobMs: 6000, maxTimeoutSeconds: 7 }, settings: { pollIntervalSeconds: 0.2 } })
    const { status, body } = await stack.post('/v1/images/generations', { model: SLOW_MODEL, prompt: 'never done in time' })
    expect(status).toBe(502)
    expect(body.error.code).toBe('job_payment_refused')
    expect((await ledgerOf(stack.home)).map((p) => p.status)).toEqual(['refused', 'refused', 'refused'])
    expect(stack.sandbox.usdc.transfers).toHaveLength(0)
  })

  it('a failed job is a clear error and settles nothing', async () => {
    stack = await startStack()
    const { status, body } = await stack.post('/v1/images/generations', { model: SLOW_MODEL, prompt: 'doomed [fault:job-fails]' })
    expect(status).toBe(502)
    expect(body.error.code).toBe('job_failed')
    expect(body.error.message).toContain('Generation failed upstream')
    expect(body.error.message).toContain('Nothing was settled')
    expect((await ledgerOf(stack.home)).map((p) => p.status)).toEqual(['failed'])
    expect(stack.sandbox.usdc.transfers).toHaveLength(0)
  })

  it('a moderation refusal (a 200 with error and no images) is an error, never an empty success, and settles nothing', async () => {
    stack = await startStack()
    const { status, body } = await stack.post('/v1/images/generations', { prompt: 'refused [fault:moderated]' })
    expect(status).toBe(400)
    expect(body.error.code).toBe('upstream_refused')
    expect(body.error.message).toContain('rejected by the safety system')
    expect((await ledgerOf(stack.home)).map((p) => p.status)).toEqual(['failed'])
    expect(stack.sandbox.usdc.transfers).toHaveLength(0)
  })

  it('a job ticket that comes as a 200 with status queued is followed like a 202', async () => {
    stack = await startStack()
    const { status, body } = await stack.post('/v1/images/generations', { prompt: 'ticket [fault:job-accepted-as-200]' })
    expect(status, JSON.stringify(body)).toBe(200)
    expect(stack.sandbox.polls.length).toBeGreaterThan(0)
    expect(stack.sandbox.usdc.transfers).toHaveLength(1)
    expect((await ledgerOf(stack.home)).map((p) => p.status)).toEqual(['settled'])
  })

  it('a caller that disconnects mid-job: polling stops within one interval, nothing settles, the job is recorded as abandoned', async () => {
    stack = await startStack({ sandbox: { jobMs: 3000 }, settings: { pollIntervalSeconds: 0.2 } })
    const controller = new AbortController()
    const request = fetch(`${stack.proxy.url}/v1/images/generations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: SLOW_MODEL, prompt: 'nobody waits for this' }),
      signal: controller.signal,
    }).catch((error: unknown) => error)
    // Wait for polling to be under way, then leave.
    while (stack.sandbox.polls.length < 2) await sleep(20)
    controller.abort()
    await request
    await sleep(250) // one interval for the poller to notice
    const polled = stack.sandbox.polls.length
    await sleep(3500) // past the job's end
    expect(stack.sandbox.polls.length).toBe(polled)
    expect(stack.sandbox.usdc.transfers).toHaveLength(0)
    expect((await ledgerOf(stack.home)).map((p) => p.status)).toEqual(['abandoned'])
  })
})

describe('settlement evidence', () => {
  it("BlockRun's X-Payment-Receipt alone settles the ledger line", async () => {
    relayed = await stackThroughRelay(() => ({
      answer: (a) => {
        if (a.status !== 200 || a.method !== 'POST') return a
        const { 'payment-response': _dropped, ...headers } = a.headers
        return { ...a, headers }
      },
    }))
    const { status, body } = await relayed.generate({ prompt: 'receipt only' })
    expect(status, JSON.stringify(body)).toBe(200)
    const transfer = relayed.stack.sandbox.usdc.transfers[0]!
    expect(body.cost).toMatchObject({ status: 'settled', transaction: transfer.transaction })
    expect(await ledgerOf(relayed.stack.home)).toEqual([{ status: 'settled', nonce: transfer.nonce, replaces: undefined, transaction: transfer.transaction }])
  })
})

describe('poll_url guard (a hostile upstream steering polls)', () => {
  let bystander: Server | undefined
  afterEach(async () => {
    bystander?.closeAllConnections()
    await new Promise((resolve) => bystander?.close(resolve) ?? resolve(undefined))
    bystander = undefined
  })

  /** A local service that must never see a request: it counts what reaches it. */
  async function startBystander(): Promise<{ url: string; hits: () => number }> {
    let hits = 0
    bystander = createServer((_request, response) => {
      hits++
      response.end('{}')
    })
    await new Promise<void>((resolve) => bystander!.listen(0, '127.0.0.1', resolve))
    return { url: `http://127.0.0.1:${(bystander.address() as AddressInfo).port}`, hits: () => hits }
  }

  const steer = (pollUrl: string) => () => ({
    answer: (a: import('./helpers/relay.js').RelayedAnswer) => (a.status === 202 ? { ...a, body: Buffer.from(JSON.stringify({ ...JSON.parse(a.body.toString()), poll_url: pollUrl })) } : a),
  })

  it.each([
    ['another local port over http', (local: string) => `${local}/steal`],
    ['another local port over https', (local: string) => `${local.replace('http:', 'https:')}/steal`],
    ['cloud metadata', () => 'https://169.254.169.254/latest/meta-data/'],
    ['a LAN router', () => 'https://192.168.1.1/admin'],
  ])('%s is never polled; the paid job is recorded as unknown, not as failed', async (_name, target) => {
    const local = await startBystander()
    // Job results come as data URIs here, so no private address is needed: the default guard applies.
    relayed = await stackThroughRelay(steer(target(local.url)), { sandbox: { forms: 'job' }, settings: { allowPrivateUrls: false } })
    const { status, body } = await relayed.generate({ prompt: 'steered' })
    expect(status).toBe(502)
    expect(body.error.code).toMatch(/bad_job|poll_url_refused|job_unreachable/)
    expect(local.hits()).toBe(0)
    const ledger = await ledgerOf(relayed.stack.home)
    expect(ledger.map((p) => p.status)).toEqual(['unknown'])
  })

  it('a path is polled on the API origin, whatever host the answer names', async () => {
    relayed = await stackThroughRelay(() => ({}), { sandbox: { forms: 'job' } })
    const { status } = await relayed.generate({ prompt: 'plain path' })
    expect(status).toBe(200)
    expect(relayed.stack.sandbox.polls.every((p) => p.paid)).toBe(true)
  })
})
