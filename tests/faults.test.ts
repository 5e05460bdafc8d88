import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readLedger, type PaymentStatus } from '../server/payment/ledger.js'
import type { Fault } from '../server/sandbox/faults.js'
import { startStack, type Stack } from './helpers/stack.js'

/**
 * One request per upstream fault, aimed with a `[fault:…]` marker in the prompt. For each: what
 * the client sees, how many authorizations the sandbox saw (never more than one: nothing is
 * re-signed), whether it settled, and what the ledger recorded.
 */
const CASES: Array<{ fault: Fault; model?: string; status: number; code?: RegExp; authorizations: number; settled: 0 | 1; ledger: PaymentStatus | 'none' }> = [
  { fault: 'error-before-pay', status: 502, authorizations: 0, settled: 0, ledger: 'none' },
  { fault: 'malformed-402', status: 502, code: /malformed_payment_required/, authorizations: 0, settled: 0, ledger: 'none' },
  { fault: 'payment-required-again', status: 402, code: /payment_failed/, authorizations: 1, settled: 0, ledger: 'refused' },
  { fault: 'settlement-failed-header', status: 402, code: /payment_failed/, authorizations: 1, settled: 0, ledger: 'refused' },
  { fault: 'reset-before-settle', status: 502, code: /upstream_lost/, authorizations: 1, settled: 0, ledger: 'unknown' },
  { fault: 'reset-after-pay', status: 502, code: /upstream_lost/, authorizations: 1, settled: 1, ledger: 'unknown' },
  { fault: 'error-after-settle', status: 502, authorizations: 1, settled: 1, ledger: 'settled' },
  { fault: 'close-mid-body', status: 502, code: /upstream_truncated/, authorizations: 1, settled: 1, ledger: 'settled' },
  { fault: 'truncated-download', status: 502, code: /download_failed/, authorizations: 1, settled: 1, ledger: 'settled' },
  { fault: 'non-image-download', status: 502, code: /not_an_image/, authorizations: 1, settled: 1, ledger: 'settled' },
  { fault: 'job-fails', model: 'gpt-image-2', status: 502, code: /job_failed/, authorizations: 1, settled: 0, ledger: 'failed' },
  { fault: 'job-never-completes', model: 'gpt-image-2', status: 504, code: /upstream_timeout/, authorizations: 1, settled: 0, ledger: 'abandoned' },
  { fault: 'job-poll-unavailable', model: 'gpt-image-2', status: 200, authorizations: 1, settled: 1, ledger: 'settled' },
  { fault: 'slow', status: 504, code: /upstream_timeout/, authorizations: 1, settled: 0, ledger: 'unknown' },
]

describe('upstream faults: a definite answer, at most one authorization, an honest ledger', () => {
  for (const c of CASES) {
    it(c.fault, async () => {
      const stack = await startStack({ sandbox: { slowMs: 4000 }, settings: { timeoutSeconds: 3 } })
      try {
        const { status, body } = await stack.post('/v1/images/generations', { model: c.model ?? 'nano-banana', prompt: `a cat [fault:${c.fault}]` })
        expect(status, JSON.stringify(body)).toBe(c.status)
        if (c.status !== 200) expect(body.error.message).toBeTruthy()
        if (c.code) expect(body.error.code).toMatch(c.code)
        expect(stack.sandbox.counters.faults[c.fault]).toBe(1)
        expect(stack.sandbox.counters.authorizations).toBe(c.authorizations)
        const ledger = await readLedger(stack.home)
        expect(ledger.map((p) => p.status)).toEqual(c.ledger === 'none' ? [] : [c.ledger])
        if (c.fault === 'slow') await sleep(1500) // the sandbox settles after the proxy gave up
        expect(stack.sandbox.usdc.transfers.length).toBe(c.fault === 'slow' ? 1 : c.settled)
        // Whatever settled is in the ledger under the same nonce, as settled or unknown.
        for (const transfer of stack.sandbox.usdc.transfers) {
          const entry = ledger.find((p) => p.nonce === transfer.nonce)
          expect(entry?.status).toMatch(/settled|unknown/)
        }
        const images = await readdir(join(stack.home, 'images')).catch(() => [] as string[])
        expect(images).toHaveLength(c.status === 200 ? 1 : 0)
        // The proxy is fine afterwards.
        const after = await stack.post('/v1/images/generations', { model: c.model ?? 'nano-banana', prompt: 'a calm cat' })
        expect(after.status).toBe(200)
      } finally {
        await stack.close()
      }
    })
  }
})

describe('a random fault mix is reproducible from its seed', () => {
  let stack: Stack
  beforeAll(async () => {
    stack = await startStack({ sandbox: { faults: { weights: { none: 1, 'error-after-settle': 1 }, seed: 7 } } })
  })
  afterAll(async () => stack.close())

  it('injects roughly the asked share', async () => {
    const statuses = []
    for (let i = 0; i < 20; i++) statuses.push((await stack.post('/v1/images/generations', { prompt: `mix ${i}` })).status)
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThan(0)
    expect(statuses.filter((s) => s === 502).length).toBeGreaterThan(0)
    expect(statuses.filter((s) => s === 502).length).toBe(stack.sandbox.counters.faults['error-after-settle'])
  })
})

describe('a 202 job whose settlement fails when it completes', () => {
  it('is a payment error, recorded as refused, not an unknown spend', async () => {
    const stack = await startStack({ sandbox: { forms: 'job', jobMs: 400 } })
    try {
      const pending = stack.post('/v1/images/generations', { prompt: 'drained while rendering' })
      await sleep(150)
      // The funds leave between verification (job accepted) and settlement (first completed poll).
      const balance = stack.sandbox.usdc.balanceOf(stack.wallet.address)
      stack.sandbox.usdc.transfer(stack.wallet.address, '0x000000000000000000000000000000000000dead', balance, `0x${'ab'.repeat(32)}`, 'eip155:84532')
      const { status, body } = await pending
      expect(status, JSON.stringify(body)).toBe(402)
      expect(body.error.type).toBe('insufficient_funds')
      expect(body.error.message).toContain(stack.wallet.address)
      const ledger = await readLedger(stack.home)
      expect(ledger.map((p) => p.status)).toEqual(['refused'])
      expect(stack.sandbox.usdc.transfers).toHaveLength(1) // only the drain
    } finally {
      await stack.close()
    }
  })
})

describe('an upstream that goes away after a route was learned', () => {
  it('the pre-paid attempt that cannot connect is released, not counted; later requests sign nothing', async () => {
    const stack = await startStack({ settings: { dailyBudget: '0.20' } })
    try {
      expect((await stack.post('/v1/images/generations', { prompt: 'while it lasts' })).status).toBe(200)
      await stack.sandbox.close()
      for (let i = 0; i < 5; i++) {
        const { status, body } = await stack.post('/v1/images/generations', { prompt: `outage ${i}` })
        expect(status).toBe(502)
        expect(body.error.code).toBe('upstream_unreachable')
        expect(body.error.message).toMatch(/could not be reached/)
      }
      const ledger = await readLedger(stack.home)
      expect(ledger.map((p) => p.status)).toEqual(['settled', 'released'])
      const usage = await (await stack.get('/v1/usage?days=1')).json()
      expect(usage.total).toBe('53500') // nano-banana: $0.05 × 1.05 + $0.001
    } finally {
      await stack.close()
    }
  })
})
