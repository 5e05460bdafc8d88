/**
 * Never paying twice for one picture: the `Idempotency-Key` header (and `idempotency_key`) against
 * the real proxy and the sandbox's x402 paywall, in one process and across two (`imagegen serve`
 * as a child process over the same home).
 */
import { createHash } from 'node:crypto'
import { appendFile, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterEach, describe, expect, it } from 'vitest'
import { readLedger } from '../server/payment/ledger.js'
import { requestFingerprint } from '../server/receipts/results.js'
import { spawnProxy, type ProxyProcess } from './helpers/processes.js'
import { readJsonResponse, startStack, type Stack } from './helpers/stack.js'

let stack: Stack | undefined
let child: ProxyProcess | undefined
afterEach(async () => {
  await child?.stop()
  await stack?.close()
  stack = child = undefined
})

const key = (name: string) => ({ 'idempotency-key': `${name}-${Math.random().toString(36).slice(2)}` })

async function until(condition: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(20)
  }
}

/** Posts `body` and goes away once its job is paid for and being polled. */
async function leaveMidJob(stack: Stack, body: object, headers: Record<string, string> = {}): Promise<void> {
  const controller = new AbortController()
  const leaving = fetch(`${stack.proxy.url}/v1/images/generations`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body), signal: controller.signal })
  await until(() => stack.sandbox.counters.polls > 0, 'the first poll')
  controller.abort()
  await expect(leaving).rejects.toThrow()
}

describe('Idempotency-Key', () => {
  it('the same key returns the first result without paying again; another request under it is refused', async () => {
    stack = await startStack()
    const headers = key('same')
    const body = { model: 'nano-banana', prompt: 'a fox' }
    const first = await stack.post('/v1/images/generations', body, headers)
    expect(first.status).toBe(200)
    expect(first.headers.get('idempotent-replayed')).toBeNull()
    const again = await stack.post('/v1/images/generations', { ...body, response_format: 'url' }, headers)
    expect(again.status).toBe(200)
    expect(again.headers.get('idempotent-replayed')).toBe('true')
    expect(again.body.replayed).toBe(true)
    expect(again.body.receipt).toBe(first.body.receipt)
    expect(again.body.data).toEqual(first.body.data)
    expect(again.body.cost).toEqual(first.body.cost)
    expect(again.body.notes.at(-1)).toMatch(/handed back for the same idempotency key: nothing was paid now; it was paid \$0\.0535 then\.$/)
    expect(stack.sandbox.usdc.transfers).toHaveLength(1)
    expect(stack.sandbox.counters.imageRequests).toBe(2) // the first call's 402 round, nothing for the replay

    const other = await stack.post('/v1/images/generations', { ...body, prompt: 'a wolf' }, headers)
    expect(other.status).toBe(422)
    expect(other.body.error.code).toBe('idempotency_key_reused')
    // The body's idempotency_key is the same key; a body and header that differ are a 400.
    const inBody = await stack.post('/v1/images/generations', { ...body, idempotency_key: headers['idempotency-key'] })
    expect(inBody.body.replayed).toBe(true)
    const both = await stack.post('/v1/images/generations', { ...body, idempotency_key: 'another' }, headers)
    expect(both.status).toBe(400)
    expect(stack.sandbox.usdc.transfers).toHaveLength(1)
  })

  it('two concurrent requests with one key pay once and get the same image', async () => {
    stack = await startStack({ sandbox: { forms: 'job', jobMs: 400 } })
    const headers = key('concurrent')
    const body = { model: 'gpt-image-2', prompt: 'twins' }
    const [a, b] = await Promise.all([stack.post('/v1/images/generations', body, headers), stack.post('/v1/images/generations', body, headers)])
    expect([a.status, b.status]).toEqual([200, 200])
    expect(a.body.data[0].path).toBe(b.body.data[0].path)
    expect([a.body.replayed, b.body.replayed].filter(Boolean)).toHaveLength(1)
    expect(stack.sandbox.usdc.transfers).toHaveLength(1)
    expect(stack.sandbox.counters.authorizations).toBe(1)
  })

  it('a client that disconnects mid-job: the job finishes and is stored; the retry pays nothing and gets the image', async () => {
    stack = await startStack({ sandbox: { forms: 'job', jobMs: 1500 } })
    const headers = key('retry')
    const body = { model: 'gpt-image-2', prompt: 'a slow lighthouse' }
    await leaveMidJob(stack, body, headers)
    // The job goes on without its caller and settles once.
    await until(() => stack!.sandbox.usdc.transfers.length === 1, 'the settlement')
    const retry = await stack.post('/v1/images/generations', body, headers)
    expect(retry.status, JSON.stringify(retry.body)).toBe(200)
    expect(retry.body.replayed).toBe(true)
    expect((await readFile(retry.body.data[0].path)).length).toBeGreaterThan(1000)
    expect(stack.sandbox.usdc.transfers).toHaveLength(1)
    expect(stack.sandbox.counters.authorizations).toBe(1)
    const ledger = await readLedger(stack.home)
    expect(ledger.map((p) => p.status)).toEqual(['settled'])
  })

  it('a retry that arrives while the abandoned job still runs waits for it (same process)', async () => {
    stack = await startStack({ sandbox: { forms: 'job', jobMs: 1500 } })
    const headers = key('wait')
    const body = { model: 'gpt-image-2', prompt: 'waited for' }
    await leaveMidJob(stack, body, headers)
    const retry = await stack.post('/v1/images/generations', body, headers)
    expect(retry.status, JSON.stringify(retry.body)).toBe(200)
    expect(stack.sandbox.usdc.transfers).toHaveLength(1)
  })

  it('without a key, a caller that leaves mid-job abandons it: nothing settles', async () => {
    stack = await startStack({ sandbox: { forms: 'job', jobMs: 1500 } })
    await leaveMidJob(stack, { model: 'gpt-image-2', prompt: 'unkeyed' })
    await sleep(2000)
    expect(stack.sandbox.usdc.transfers).toHaveLength(0)
    expect((await readLedger(stack.home)).map((p) => p.status)).toEqual(['abandoned'])
  })

  it('a failure that cost nothing frees the key; one that may have cost money is answered again, never paid again', async () => {
    stack = await startStack()
    const free = key('free')
    const refused = await stack.post('/v1/images/generations', { model: 'nano-banana', prompt: 'free', max_price: '0.01' }, free)
    expect(refused.body.error.code).toBe('max_price_exceeded')
    const paid = await stack.post('/v1/images/generations', { model: 'nano-banana', prompt: 'free', max_price: '0.06' }, free)
    expect(paid.status).toBe(200)
    expect(stack.sandbox.usdc.transfers).toHaveLength(1)

    const costly = key('costly')
    const body = { model: 'nano-banana', prompt: 'costly [fault:error-after-settle]' }
    const failed = await stack.post('/v1/images/generations', body, costly)
    expect(failed.status).toBe(502)
    expect(stack.sandbox.usdc.transfers).toHaveLength(2)
    const retried = await stack.post('/v1/images/generations', body, costly)
    expect(retried.status).toBe(502)
    expect(retried.body.error.message).toContain('it was not tried again, so nothing more was paid')
    expect(stack.sandbox.usdc.transfers).toHaveLength(2)
  })

  it('a key our tools derived (reuse: undelivered) hands back only a result nobody received', async () => {
    stack = await startStack()
    const headers = { ...key('derived'), 'x-imagegen-reuse': 'undelivered' }
    const body = { model: 'gpt-image', prompt: 'make another' }
    const first = await stack.post('/v1/images/generations', body, headers)
    const second = await stack.post('/v1/images/generations', body, headers)
    expect(second.status).toBe(200)
    expect(second.body.replayed).toBeUndefined()
    expect(second.body.data[0].path).not.toBe(first.body.data[0].path)
    expect(stack.sandbox.usdc.transfers).toHaveLength(2)
  })

  it('a key never hands back the result of a different request, whichever kind of key claimed it first', async () => {
    stack = await startStack({ sandbox: { forms: 'job', jobMs: 300 } })
    // A derived key whose first result nobody received: a different request under it makes its own.
    const undelivered = { 'idempotency-key': `tool-${Math.random().toString(36).slice(2)}`, 'x-imagegen-reuse': 'undelivered' }
    await leaveMidJob(stack, { model: 'gpt-image-2', prompt: 'a heron' }, undelivered)
    const owl = await stack.post('/v1/images/generations', { model: 'gpt-image-2', prompt: 'an owl' }, undelivered)
    expect(owl.status).toBe(200)
    expect(owl.body.replayed).toBeUndefined()
    const receipt = await readJsonResponse(await stack.get(`/v1/receipts/${owl.body.receipt}`))
    expect(receipt.body.request.prompt_sha256).toBe(createHash('sha256').update('an owl').digest('hex'))

    // A caller's key spelled like one our tools derived: the derived claim's result is not theirs.
    const derived = { 'idempotency-key': `tool-${Math.random().toString(36).slice(2)}`, 'x-imagegen-reuse': 'undelivered' }
    const fox = await stack.post('/v1/images/generations', { model: 'nano-banana', prompt: 'a fox' }, derived)
    expect(fox.status).toBe(200)
    const whale = await stack.post('/v1/images/generations', { model: 'nano-banana', prompt: 'a whale' }, { 'idempotency-key': derived['idempotency-key'] })
    expect(whale.body.replayed).toBeUndefined()
    expect(whale.status).toBe(422)
    expect(whale.body.error.code).toBe('idempotency_key_reused')
  })

  it('a claim left by a process that died frees its key when nothing was signed for it, and is answered as lost when something was', async () => {
    stack = await startStack()
    const lines = (entries: object[]) => entries.map((entry) => `${JSON.stringify(entry)}\n`).join('')
    const t = Date.now()
    const body = { model: 'nano-banana', prompt: 'after a crash' }
    const fingerprint = requestFingerprint('/v1/images/generations', body)
    await appendFile(join(stack.home, 'requests.jsonl'), lines([
      { kind: 'claim', t, key: 'dead-free', id: 'r-free', fingerprint, reuse: 'always', owner: '999999999:dead' },
      { kind: 'claim', t, key: 'dead-paid', id: 'r-paid', fingerprint, reuse: 'always', owner: '999999999:dead' },
    ]))
    await appendFile(join(stack.home, 'ledger.jsonl'), lines([
      { kind: 'reserve', t, id: 'p-1', requestId: 'r-paid', endpoint: '/v1/images/generations', model: 'google/nano-banana', size: '1024x1024', n: 1, amount: '53500', network: 'eip155:84532', asset: '0x036CbD53842c5426634e7929541eC2318f3dCF7e', payTo: '0x000000000000000000000000000000000000b10c' },
      { kind: 'signed', t, id: 'p-1', nonce: '0x01', validBefore: String(Math.floor(t / 1000) + 600), x402Version: 2, payer: stack.wallet.address },
    ]))
    const freed = await stack.post('/v1/images/generations', body, { 'idempotency-key': 'dead-free' })
    expect(freed.status, JSON.stringify(freed.body)).toBe(200)
    const lost = await stack.post('/v1/images/generations', body, { 'idempotency-key': 'dead-paid' })
    expect(lost.status).toBe(502)
    expect(lost.body.error.code).toBe('request_lost')
    expect(stack.sandbox.usdc.transfers).toHaveLength(1)
  })
})

describe('Idempotency-Key across processes', () => {
  it('refused with 409 while another process runs it; handed back once it is done, paid once', async () => {
    stack = await startStack({ sandbox: { forms: 'job', jobMs: 2000 } })
    child = await spawnProxy({ home: stack.home, upstream: stack.sandbox.url, args: ['--poll-interval-seconds', '0.05', '--rpc-url', 'http://127.0.0.1:9'] })
    const headers = { 'content-type': 'application/json', ...key('processes') }
    const body = JSON.stringify({ model: 'gpt-image-2', prompt: 'in another process' })
    const running = fetch(`${child.url}/v1/images/generations`, { method: 'POST', headers, body }).then(readJsonResponse)
    await until(() => stack!.sandbox.counters.polls > 0, 'the child to start polling')
    const meanwhile = await readJsonResponse(await fetch(`${stack.proxy.url}/v1/images/generations`, { method: 'POST', headers, body }))
    expect(meanwhile.status).toBe(409)
    expect(meanwhile.body.error.code).toBe('idempotency_key_in_use')
    const first = await running
    expect(first.status, JSON.stringify(first.body)).toBe(200)
    const after = await readJsonResponse(await fetch(`${stack.proxy.url}/v1/images/generations`, { method: 'POST', headers, body }))
    expect(after.status, JSON.stringify(after.body)).toBe(200)
    expect(after.body.replayed).toBe(true)
    expect(after.body.data[0].path).toBe(first.body.data[0].path)
    expect(stack.sandbox.usdc.transfers).toHaveLength(1)
  })
})
