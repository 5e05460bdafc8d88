/**
 * "Never pay twice" on Solana (issue #17): the upstream faults of tests/faults.test.ts, with the
 * wallet paying on Solana. Each gets a definite answer, at most one signed transfer, at most one
 * settlement, and an honest ledger; a second identical request pays on its first attempt
 * (requirements remembered), and a Solana RPC that never answers fails fast with nothing signed.
 */
import { createServer, type Server } from 'node:net'
import { describe, expect, it } from 'vitest'
import { readLedger, type PaymentStatus } from '../server/payment/ledger.js'
import type { Fault } from '../server/sandbox/faults.js'
import { startStack } from './helpers/stack.js'

const CASES: Array<{ fault: Fault; model?: string; status: number; code?: RegExp; settled: 0 | 1; ledger: PaymentStatus }> = [
  { fault: 'payment-required-again', status: 402, code: /payment_failed/, settled: 0, ledger: 'refused' },
  { fault: 'settlement-failed-header', status: 402, code: /payment_failed/, settled: 0, ledger: 'refused' },
  { fault: 'reset-before-settle', status: 502, code: /upstream_lost/, settled: 0, ledger: 'unknown' },
  { fault: 'reset-after-pay', status: 502, code: /upstream_lost/, settled: 1, ledger: 'unknown' },
  { fault: 'error-after-settle', status: 502, settled: 1, ledger: 'settled' },
  { fault: 'close-mid-body', status: 502, code: /upstream_truncated/, settled: 1, ledger: 'settled' },
  { fault: 'job-fails', model: 'gpt-image-2', status: 502, code: /job_failed/, settled: 0, ledger: 'failed' },
  { fault: 'job-poll-unavailable', model: 'gpt-image-2', status: 200, settled: 1, ledger: 'settled' },
]

describe('upstream faults with a Solana wallet: one transfer at most, settled at most once', () => {
  for (const c of CASES) {
    it(c.fault, async () => {
      const stack = await startStack({ chain: 'solana' })
      try {
        const { status, body } = await stack.post('/v1/images/generations', { model: c.model ?? 'nano-banana', prompt: `a cat [fault:${c.fault}]` })
        expect(status, JSON.stringify(body)).toBe(c.status)
        if (c.code) expect(body.error.code).toMatch(c.code)
        expect(stack.sandbox.counters.faults[c.fault]).toBe(1)
        expect(stack.sandbox.counters.authorizations).toBe(1)
        expect(stack.sandbox.solana.transfers).toHaveLength(c.settled)
        const records = await readLedger(stack.home)
        expect(records.map((r) => r.status)).toEqual([c.ledger])
        expect(records[0]!.payer).toBe(stack.wallet.solana!.address)
      } finally {
        await stack.close()
      }
    })
  }
})

describe('pre-signing and a dead Solana RPC', () => {
  it('a second identical request carries its Solana payment on the first attempt: one round trip', async () => {
    const stack = await startStack({ chain: 'solana' })
    try {
      const body = { model: 'nano-banana', prompt: 'first', size: '1024x1024' }
      expect((await stack.post('/v1/images/generations', body)).status).toBe(200)
      const requests = stack.sandbox.counters.imageRequests
      expect((await stack.post('/v1/images/generations', { ...body, prompt: 'second' })).status).toBe(200)
      expect(stack.sandbox.counters.imageRequests - requests).toBe(1)
      expect(stack.sandbox.solana.transfers).toHaveLength(2)
    } finally {
      await stack.close()
    }
  })

  it('a Solana RPC that accepts connections and never answers: a 502 naming the RPC within its bound, nothing signed', async () => {
    const sockets: import('node:net').Socket[] = []
    const silent: Server = createServer((socket) => void sockets.push(socket))
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    const port = (silent.address() as import('node:net').AddressInfo).port
    const stack = await startStack({ chain: 'solana', settings: { solanaDevnetRpcUrl: `http://127.0.0.1:${port}` } })
    try {
      const started = Date.now()
      const { status, body } = await stack.post('/v1/images/generations', { model: 'nano-banana', prompt: 'x' })
      expect(Date.now() - started).toBeLessThan(8000)
      expect(status).toBe(502)
      expect(body.error.code).toBe('solana_rpc_unavailable')
      expect(body.error.message).toMatch(new RegExp(`on Solana devnet through http://127.0.0.1:${port} within 3000 ms.*Nothing was signed`))
      expect(stack.sandbox.counters.authorizations).toBe(0)
      expect((await readLedger(stack.home)).map((r) => r.status)).toEqual(['released'])
    } finally {
      await stack.close()
      for (const socket of sockets) socket.destroy()
      silent.close()
    }
  })
})
