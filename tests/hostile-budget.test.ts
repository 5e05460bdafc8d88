/**
 * A hostile upstream cannot outspend the budget (issue #16, item 1). It chooses the lifetime of
 * what we sign and can say "refused" while settling, so every authorization counts against the
 * budget for the whole window, until the chain (EIP-3009 authorizationState, read from the
 * sandbox's JSON-RPC here) shows an expired one unused.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { decodePaymentSignatureHeader } from '@x402/core/http'
import { afterEach, describe, expect, it } from 'vitest'
import { readLedger } from '../server/payment/ledger.js'
import { stackThroughRelay, type RelayedStack, type RelayHooks } from './helpers/relay.js'
import type { Stack } from './helpers/stack.js'

let relayed: RelayedStack | undefined
afterEach(async () => {
  await relayed?.close()
  relayed = undefined
})

type Seen = { value: bigint; validBefore: number; nonce: string }

/** Rewrites every 402's requirements (price, lifetime) and records every authorization presented. */
function hostile(seen: Seen[], { amount, lifetime, active }: { amount?: string; lifetime?: number; active: () => boolean }): (stack: Stack) => RelayHooks {
  return () => ({
    payment: async (header) => {
      const payload = decodePaymentSignatureHeader(header) as unknown as { payload: { authorization: { value: string; validBefore: string; nonce: string } } }
      const { value, validBefore, nonce } = payload.payload.authorization
      seen.push({ value: BigInt(value), validBefore: Number(validBefore), nonce })
      return header
    },
    on402: (headers) => {
      const header = headers['payment-required']
      if (!active() || header === undefined) return headers
      const required = JSON.parse(Buffer.from(header, 'base64').toString('utf8')) as { accepts: Array<Record<string, unknown>> }
      for (const accept of required.accepts) {
        if (amount) accept.amount = amount
        if (lifetime) accept.maxTimeoutSeconds = lifetime
      }
      return { ...headers, 'payment-required': Buffer.from(JSON.stringify(required)).toString('base64') }
    },
  })
}

/** What every authorization the upstream has seen could still settle for, at `now` (epoch s). */
const stillValid = (seen: Seen[], now = Date.now() / 1000) => seen.filter((a) => a.validBefore > now).reduce((sum, a) => sum + a.value, 0n)

describe('a hostile upstream that refuses every payment, with a price and lifetime of its choosing', () => {
  it('offline (no chain to ask): 30 requests sign at most the budget, at most two per request, and /v1/usage shows them held', async () => {
    const seen: Seen[] = []
    // $0.10 asked (the sandbox then refuses the amount), authorizations valid 5 s, budget $0.50.
    relayed = await stackThroughRelay(hostile(seen, { amount: '100000', lifetime: 5, active: () => true }), { settings: { dailyBudget: '0.50', maxPerRequest: '0.20' } })
    const statuses: number[] = []
    for (let i = 0; i < 30; i++) {
      statuses.push((await relayed.generate({ prompt: `hostile ${i}` })).status)
      // The property: what was signed and could still settle never exceeds the budget.
      expect(seen.reduce((sum, a) => sum + a.value, 0n)).toBeLessThanOrEqual(500_000n)
      if (i === 10) await sleep(5500) // every authorization so far has expired: still held
    }
    expect(seen).toHaveLength(5)
    expect(statuses.every((s) => s === 402)).toBe(true)
    const ledger = await readLedger(relayed.stack.home)
    const perRequest = new Map<string, number>()
    for (const p of ledger.filter((p) => p.nonce)) perRequest.set(p.requestId, (perRequest.get(p.requestId) ?? 0) + 1)
    expect(Math.max(...perRequest.values())).toBeLessThanOrEqual(2)
    const usage = await (await relayed.stack.get('/v1/usage?days=1')).json()
    expect(usage.budget).toMatchObject({ usedLast24h: '500000', spentLast24h: '0', heldLast24h: '500000', remaining: '0' })
    expect(usage.total).toBe('0')
    expect(usage.held).toBe(5)
  }, 60_000)

  it('with the chain at hand: expired authorizations the chain shows unused stop counting, and nothing else does', async () => {
    const seen: Seen[] = []
    let active = true
    relayed = await stackThroughRelay(hostile(seen, { amount: '100000', lifetime: 7, active: () => active }), { settings: { dailyBudget: '0.50', maxPerRequest: '0.20' } }, onChain)
    for (let i = 0; i < 6; i++) await relayed.generate({ prompt: `hostile ${i}` })
    expect(seen).toHaveLength(5)
    expect(stillValid(seen)).toBeLessThanOrEqual(500_000n)
    // Before they expire, the chain is not asked: nothing is reclaimed.
    expect((await relayed.generate({ prompt: 'still held' })).status).toBe(402)
    expect(seen).toHaveLength(5)
    // Past their lifetime by the chain's clock too (the latest block's timestamp), to the second.
    await sleep(8500)
    active = false
    const { status, body } = await relayed.generate({ prompt: 'after expiry' })
    expect(status, JSON.stringify(body)).toBe(200)
    const ledger = await readLedger(relayed.stack.home)
    expect(ledger.filter((p) => p.chain === 'unused')).toHaveLength(5)
    expect(ledger.at(-1)!.status).toBe('settled')
    // What still counts: the image paid (nano-banana: $0.05 × 1.05 + $0.001). Requirements whose
    // payment was refused are never remembered, so no pre-paid attempt at the hostile price was made.
    const usage = await (await relayed.stack.get('/v1/usage?days=1')).json()
    expect(usage.budget).toMatchObject({ heldLast24h: '0', spentLast24h: '53500', usedLast24h: '53500' })
  }, 60_000)
})

describe('an upstream that says "refused" but settled', () => {
  it('the chain shows the authorization used: it becomes spent, not freed', async () => {
    relayed = await stackThroughRelay(
      () => ({
        // The paid request reaches the sandbox (which settles it); the proxy is told 402.
        answer: (answer) => (answer.paid && answer.method === 'POST' && answer.status === 200 ? { ...answer, status: 402, body: Buffer.from('{"error":"Payment verification failed"}') } : answer),
      }),
      { sandbox: { maxTimeoutSeconds: 7 }, settings: { dailyBudget: '0.06', maxPerRequest: '0.20' } },
      onChain,
    )
    expect((await relayed.generate({ prompt: 'settled behind our back' })).status).toBe(402)
    expect(relayed.stack.sandbox.usdc.transfers).toHaveLength(1)
    await sleep(8500)
    // The next request does not fit: the chain is asked, and says the nonce was used.
    expect((await relayed.generate({ prompt: 'next' })).status).toBe(402)
    const ledger = await readLedger(relayed.stack.home)
    expect(ledger[0]).toMatchObject({ status: 'settled', chain: 'used' })
    const usage = await (await relayed.stack.get('/v1/usage?days=1')).json()
    expect(usage.budget).toMatchObject({ spentLast24h: '53500', heldLast24h: '0' })
  }, 60_000)
})

/** The proxy reads Base Sepolia (authorization states, balances) from the sandbox's JSON-RPC. */
const onChain = (stack: Stack) => ({ sepoliaRpcUrl: stack.sandbox.rpcUrl })
