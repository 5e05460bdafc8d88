/**
 * The randomized run: over a thousand requests, some concurrent, against an upstream that
 * misbehaves in every way the sandbox knows. Checks that every caller gets a definite answer, that
 * no user request settles more than one payment, that the ledger and the sandbox agree payment by
 * payment, and that the proxy is healthy and small afterwards.
 */
import { access } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readLedger } from '../../server/payment/ledger.js'
import { FAULTS } from '../../server/sandbox/faults.js'
import { startSandbox, type RunningSandbox } from '../../server/sandbox/server.js'
import { loadWallet } from '../../server/wallet/key.js'
import { spawnProxy, type ProxyProcess } from '../helpers/processes.js'
import { tempHome } from '../helpers/stack.js'

const REQUESTS = Number(process.env.CHAOS_REQUESTS ?? 1200)
const CONCURRENCY = Number(process.env.CHAOS_CONCURRENCY ?? 16)
const SEED = Number(process.env.CHAOS_SEED ?? 20261124)
/** Every result form: data URIs (Google), b64_json, hosted URLs, 202 jobs; and the two old names. */
const MODELS = ['nano-banana', 'banana-pro', 'gpt-image', 'gpt-image-2', 'grok-imagine', 'cogview', 'dall-e-3', 'flux']

describe(`chaos: ${REQUESTS} requests, concurrency ${CONCURRENCY}, seed ${SEED}`, () => {
  let sandbox: RunningSandbox
  let proxy: ProxyProcess
  let home: string
  const outcomes: Array<{ status: number; body: any }> = []

  beforeAll(async () => {
    home = await tempHome('imagegen-chaos-')
    const wallet = await loadWallet({ home })
    const weights = Object.fromEntries([['none', FAULTS.length], ...FAULTS.map((f) => [f, 1])])
    sandbox = await startSandbox({ fund: { [wallet.address]: 1_000_000_000n }, jobMs: 30, slowMs: 3500, faults: { weights, seed: SEED } })
    proxy = await spawnProxy({ home, upstream: sandbox.url, args: ['--timeout-seconds', '3', '--poll-interval-seconds', '0.05', '--daily-budget', '100000', '--max-per-request', '5'] })
  }, 60_000)

  afterAll(async () => {
    await proxy?.stop()
    await sandbox?.close()
  })

  it('every request gets a definite answer', async () => {
    let next = 0
    const worker = async () => {
      while (next < REQUESTS) {
        const i = next++
        const model = MODELS[i % MODELS.length]!
        const response = await fetch(`${proxy.url}/v1/images/generations`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model, prompt: `chaos ${i}`, n: 1 + (i % 2) }),
          signal: AbortSignal.timeout(30_000),
        })
        outcomes.push({ status: response.status, body: await response.json() })
      }
    }
    await Promise.all(Array.from({ length: CONCURRENCY }, worker))
    expect(outcomes).toHaveLength(REQUESTS)
    const byStatus: Record<number, number> = {}
    for (const { status, body } of outcomes) {
      byStatus[status] = (byStatus[status] ?? 0) + 1
      // 400: the upstream refused the content (a moderation 200); 402: payment; 502/504: upstream.
      expect([200, 400, 402, 502, 504]).toContain(status)
      if (status === 200) {
        for (const item of body.data) await access(item.path)
      } else {
        expect(body.error.message.length).toBeGreaterThan(10)
      }
    }
    console.log('outcomes by status', byStatus, 'faults injected', sandbox.counters.faults)
    expect(byStatus[200]).toBeGreaterThan(REQUESTS / 3)
    for (const fault of FAULTS) expect(sandbox.counters.faults[fault] ?? 0, fault).toBeGreaterThan(0)
  }, 600_000)

  it('at most one settled payment per request, and the ledger agrees with the sandbox', async () => {
    await sleep(3000) // let `slow` responses the proxy gave up on finish settling
    const ledger = await readLedger(home)
    const byNonce = new Map(ledger.map((p) => [p.nonce, p]))
    const settledPerRequest = new Map<string, number>()
    for (const transfer of sandbox.usdc.transfers) {
      const entry = byNonce.get(transfer.nonce)
      expect(entry, `settlement ${transfer.transaction} is in the ledger`).toBeDefined()
      expect(entry!.status).toMatch(/^(settled|unknown)$/)
      expect(entry!.amount).toBe(transfer.amount)
      if (entry!.status === 'settled') expect(entry!.transaction).toBe(transfer.transaction)
      settledPerRequest.set(entry!.requestId, (settledPerRequest.get(entry!.requestId) ?? 0) + 1)
    }
    expect(Math.max(...settledPerRequest.values())).toBe(1)
    const settledTx = new Set<string>(sandbox.usdc.transfers.map((t) => t.transaction))
    for (const entry of ledger) {
      if (entry.status === 'settled') expect(settledTx.has(entry.transaction!)).toBe(true)
      // An honest upstream never settles what it refused, what failed or a job nobody collected.
      if (['refused', 'released', 'failed', 'abandoned'].includes(entry.status)) expect(sandbox.usdc.transfers.some((t) => t.nonce === entry.nonce)).toBe(false)
      expect(entry.status).not.toBe('reserved')
      expect(entry.status).not.toBe('signed')
    }
    const settledTotal = ledger.filter((p) => p.status === 'settled').reduce((sum, p) => sum + p.amount, 0n)
    const unknownSettled = sandbox.usdc.transfers.filter((t) => byNonce.get(t.nonce)?.status === 'unknown').reduce((sum, t) => sum + t.amount, 0n)
    expect(settledTotal + unknownSettled).toBe(sandbox.usdc.settledTotal())
    console.log(`ledger: ${ledger.length} payments, ${ledger.filter((p) => p.status === 'settled').length} settled, ${ledger.filter((p) => p.status === 'unknown').length} unknown; sandbox settled ${sandbox.usdc.transfers.length}`)
  })

  it('the proxy is healthy and its memory bounded afterwards', async () => {
    const health = await fetch(`${proxy.url}/health`)
    expect(health.status).toBe(200)
    const calm = await fetch(`${proxy.url}/v1/images/generations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'calm after the storm' }) })
    expect([200, 502, 504, 402]).toContain(calm.status)
    const { rss, peak } = await proxy.memory()
    console.log(`proxy memory: rss ${(rss / 2 ** 20).toFixed(0)} MiB, peak ${(peak / 2 ** 20).toFixed(0)} MiB`)
    expect(rss).toBeLessThan(400 * 2 ** 20)
    expect(proxy.output()).not.toMatch(/Unhandled|TypeError|ReferenceError/)
  })
})
