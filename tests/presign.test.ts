import { afterEach, describe, expect, it } from 'vitest'
import { readLedger } from '../server/payment/ledger.js'
import { stackThroughRelay } from './helpers/relay.js'
import { startStack, type Stack } from './helpers/stack.js'

describe('payment requirements remembered per route, model, size and n', () => {
  let stack: Stack
  afterEach(async () => stack?.close())

  it('pays on the first attempt after the first 402: 11 upstream requests for 10 images', async () => {
    stack = await startStack()
    for (let i = 0; i < 10; i++) {
      const { status } = await stack.post('/v1/images/generations', { prompt: `image ${i}` })
      expect(status).toBe(200)
    }
    expect(stack.sandbox.counters.imageRequests).toBe(11)
    expect(stack.sandbox.usdc.transfers).toHaveLength(10)
    const ledger = await readLedger(stack.home)
    expect(ledger.filter((p) => p.status === 'settled')).toHaveLength(10)
  })

  it('does not reuse requirements across sizes or counts', async () => {
    stack = await startStack()
    await stack.post('/v1/images/generations', { model: 'gpt-image', prompt: 'a', size: '1024x1024' })
    await stack.post('/v1/images/generations', { model: 'gpt-image', prompt: 'b', size: '1536x1024' })
    await stack.post('/v1/images/generations', { model: 'gpt-image', prompt: 'c', size: '1536x1024', n: 2 })
    expect(stack.sandbox.counters.imageRequests).toBe(6)
    expect(stack.sandbox.facilitator.stats.rejected).toBe(0)
    // The size tiers: $0.02 and $0.04, × n × 1.05, + the fee.
    expect(stack.sandbox.usdc.transfers.map((t) => t.amount)).toEqual([22_000n, 43_000n, 85_000n])
  })

  it('after a price change: the stale authorization is refused, one fresh round pays once', async () => {
    stack = await startStack()
    expect((await stack.post('/v1/images/generations', { prompt: 'first' })).status).toBe(200)
    stack.sandbox.tuning.fee = 2000n
    const { status, body } = await stack.post('/v1/images/generations', { prompt: 'second' })
    expect(status, JSON.stringify(body)).toBe(200)
    expect(body.cost.amount).toBe('54500')
    // first: 402 + paid; second: stale pre-paid (402) + paid with the new price.
    expect(stack.sandbox.counters.imageRequests).toBe(4)
    expect(stack.sandbox.usdc.transfers.map((t) => t.amount)).toEqual([53_500n, 54_500n])
    const ledger = await readLedger(stack.home)
    expect(ledger.map((p) => [p.amount, p.status])).toEqual([
      [53_500n, 'settled'],
      [53_500n, 'refused'],
      [54_500n, 'settled'],
    ])
    // And the new price is remembered: the third request is a single round trip.
    expect((await stack.post('/v1/images/generations', { prompt: 'third' })).status).toBe(200)
    expect(stack.sandbox.counters.imageRequests).toBe(5)
  })

  it('a pre-paid request refused for funds is not retried with a second signature', async () => {
    stack = await startStack({ fund: '0.06' })
    expect((await stack.post('/v1/images/generations', { prompt: 'one' })).status).toBe(200)
    const { status, body } = await stack.post('/v1/images/generations', { prompt: 'two' })
    expect(status).toBe(402)
    expect(body.error.type).toBe('insufficient_funds')
    expect(body.error.message).toContain(stack.wallet.address)
    expect(stack.sandbox.counters.authorizations).toBe(2)
    expect(stack.sandbox.usdc.transfers).toHaveLength(1)
  })

  it('a stale pre-paid authorization refused by a 402 without readable requirements: the entry is dropped, one unpaid round, one payment', async () => {
    // A settlement failure from a standard x402 server is such a 402: no PAYMENT-REQUIRED header.
    const relayed = await stackThroughRelay(() => ({
      on402: (headers, paid) => {
        if (paid) delete headers['payment-required']
        return headers
      },
    }))
    try {
      const { stack, generate } = relayed
      expect((await generate({ prompt: 'first' })).status).toBe(200)
      stack.sandbox.tuning.fee = 2000n
      const second = await generate({ prompt: 'second' })
      expect(second.status, JSON.stringify(second.body)).toBe(200)
      expect(second.body.cost.amount).toBe('54500')
      // first: 402 + paid; second: stale pre-paid (402, no requirements) + unpaid 402 + paid.
      expect(stack.sandbox.counters.imageRequests).toBe(5)
      expect(stack.sandbox.usdc.transfers.map((t) => t.amount)).toEqual([53_500n, 54_500n])
      expect((await readLedger(stack.home)).map((p) => [p.amount, p.status])).toEqual([
        [53_500n, 'settled'],
        [53_500n, 'refused'],
        [54_500n, 'settled'],
      ])
      // The refreshed requirements are used from then on: one round trip.
      expect((await generate({ prompt: 'third' })).status).toBe(200)
      expect(stack.sandbox.counters.imageRequests).toBe(6)
    } finally {
      await relayed.close()
    }
  })

  it('an upstream giving maxTimeoutSeconds as a string is refused before anything is signed', async () => {
    // "300" would be appended to the clock by the scheme (now + "300"): an authorization valid for millennia.
    const relayed = await stackThroughRelay(() => ({
      on402: (headers, paid) => {
        const header = headers['payment-required']
        if (paid || header === undefined) return headers
        const required = JSON.parse(Buffer.from(header, 'base64').toString('utf8')) as { accepts: Array<Record<string, unknown>> }
        for (const accept of required.accepts) accept.maxTimeoutSeconds = String(accept.maxTimeoutSeconds)
        return { ...headers, 'payment-required': Buffer.from(JSON.stringify(required)).toString('base64') }
      },
    }))
    try {
      const { stack, generate } = relayed
      const { status, body } = await generate({ prompt: 'forever' })
      expect(status).toBe(402)
      expect(body.error.type).toBe('payment_not_allowed')
      expect(body.error.message).toMatch(/lifetime "600" is not a whole number of seconds/)
      expect(stack.sandbox.counters.authorizations).toBe(0)
      expect(await readLedger(stack.home)).toEqual([])
    } finally {
      await relayed.close()
    }
  })

  it('a network spelled oddly (" EIP155:84532 ") is normalised once, at parsing: it pays, and the route keeps working', async () => {
    const relayed = await stackThroughRelay(() => ({ on402: (headers) => rewriteRequired(headers, (accept) => (accept.network = ` ${String(accept.network).toUpperCase()} `)) }))
    try {
      const { stack, generate } = relayed
      const first = await generate({ prompt: 'odd network' })
      expect(first.status, JSON.stringify(first.body)).toBe(200)
      expect(first.body.cost.network).toBe('eip155:84532')
      const second = await generate({ prompt: 'again' })
      expect(second.status, JSON.stringify(second.body)).toBe(200)
      expect(stack.sandbox.usdc.transfers).toHaveLength(2)
    } finally {
      await relayed.close()
    }
  })

  it('requirements that fail to sign are never remembered: each request asks the upstream again', async () => {
    // Valid for the policy (a known network) but for an asset whose domain the scheme cannot sign
    // with: no name/version in `extra`.
    const relayed = await stackThroughRelay(() => ({ on402: (headers, paid) => (paid ? headers : rewriteRequired(headers, (accept) => delete accept.extra)) }))
    try {
      const { stack, generate } = relayed
      for (let i = 0; i < 2; i++) {
        const { status, body } = await generate({ prompt: `unsignable ${i}` })
        expect(status, JSON.stringify(body)).toBeGreaterThanOrEqual(400)
      }
      // Two unpaid rounds: nothing cached from the first.
      expect(stack.sandbox.counters.imageRequests).toBe(2)
      expect(stack.sandbox.counters.authorizations).toBe(0)
      expect((await readLedger(stack.home)).every((p) => p.status === 'released')).toBe(true)
    } finally {
      await relayed.close()
    }
  })

  it('after a refused pre-paid attempt, a refusal of the second round does not claim that nothing was signed', async () => {
    let rotate = false
    const relayed = await stackThroughRelay(() => ({
      on402: (headers) => (rotate ? rewriteRequired(headers, (accept) => (accept.payTo = '0x000000000000000000000000000000000000bad0')) : headers),
    }), { settings: { payees: '0x000000000000000000000000000000000000b10c' } })
    try {
      const { stack, generate } = relayed
      expect((await generate({ prompt: 'first' })).status).toBe(200)
      // The price changes and the payee rotates to one the user never allowed.
      stack.sandbox.tuning.fee = 2000n
      rotate = true
      const { status, body } = await generate({ prompt: 'second' })
      expect(status).toBe(402)
      expect(body.error.type).toBe('payment_not_allowed')
      expect(body.error.message).not.toMatch(/so nothing was signed/)
      expect(body.error.message).toMatch(/nothing more was signed \(an earlier authorization for this request.*refused.*ledger\)/)
      expect((await readLedger(stack.home)).map((p) => p.status)).toEqual(['settled', 'refused'])
    } finally {
      await relayed.close()
    }
  })
})

/** Decodes a 402's PAYMENT-REQUIRED header, applies `change` to each requirement, and encodes it again. */
function rewriteRequired(headers: Record<string, string>, change: (accept: Record<string, unknown>) => void): Record<string, string> {
  const header = headers['payment-required']
  if (header === undefined) return headers
  const required = JSON.parse(Buffer.from(header, 'base64').toString('utf8')) as { accepts: Array<Record<string, unknown>> }
  for (const accept of required.accepts) change(accept)
  return { ...headers, 'payment-required': Buffer.from(JSON.stringify(required)).toString('base64') }
}
