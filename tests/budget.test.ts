/**
 * The rolling budget under pressure: many requests at once in one proxy, two proxy processes
 * sharing one `BLOCKRUN_HOME`, and four processes racing on the ledger file itself. What is counted is what the
 * sandbox actually settled; the ledger must agree with it to the base unit.
 */
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterEach, describe, expect, it } from 'vitest'
import { spawnProxy } from './helpers/processes.js'
import { readLedger, type PaymentRecord } from '../server/payment/ledger.js'
import { startSandbox, type RunningSandbox } from '../server/sandbox/server.js'
import { loadWallet } from '../server/wallet/key.js'
import { startStack, tempHome, type Stack } from './helpers/stack.js'

const run = promisify(execFile)
const DIST = join(import.meta.dirname, '..', 'dist', 'server')
const CLI = join(DIST, 'cli', 'index.js')
/** grok-imagine: $0.02 × 1.05 + the $0.001 fee. */
const GROK_PRICE = 22_000n
/** Balance reads (error path only) go to a closed port, never to the internet. */
const OFFLINE_RPC = { BASE_RPC_URL: 'http://127.0.0.1:9', BASE_SEPOLIA_RPC_URL: 'http://127.0.0.1:9' }
const OFFLINE_RPC_SETTINGS = { rpcUrl: OFFLINE_RPC.BASE_RPC_URL, sepoliaRpcUrl: OFFLINE_RPC.BASE_SEPOLIA_RPC_URL }

type Reply = { status: number; body: any }

async function post(base: string, body: unknown): Promise<Reply> {
  const response = await fetch(`${base}/v1/images/generations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  return { status: response.status, body: await response.json() }
}

/** The ledger and the sandbox agree exactly: same transactions, same amounts, same total. */
function expectLedgerMatchesSandbox(records: PaymentRecord[], sandbox: RunningSandbox) {
  const settled = records.filter((r) => r.status === 'settled')
  expect(settled.map((r) => r.transaction).sort()).toEqual(sandbox.usdc.transfers.map((t) => t.transaction).sort())
  const byTx = new Map(sandbox.usdc.transfers.map((t) => [t.transaction, t]))
  for (const record of settled) {
    const transfer = byTx.get(record.transaction as `0x${string}`)!
    expect(record.amount).toBe(transfer.amount)
    expect(record.nonce?.toLowerCase()).toBe(transfer.nonce.toLowerCase())
    expect(record.payTo.toLowerCase()).toBe(transfer.to.toLowerCase())
  }
  expect(settled.reduce((sum, r) => sum + r.amount, 0n)).toBe(sandbox.usdc.settledTotal())
  // Nothing is left pending or unknown once every request has answered.
  expect(records.filter((r) => r.status === 'reserved' || r.status === 'signed' || r.status === 'unknown')).toEqual([])
}

describe('one proxy, many requests at once', () => {
  let stack: Stack | undefined
  afterEach(async () => {
    await stack?.close()
    stack = undefined
  })

  it('100 concurrent requests against a budget that allows 10 pay for exactly 10', async () => {
    stack = await startStack({ settings: { dailyBudget: '0.22', ...OFFLINE_RPC_SETTINGS } })
    const replies = await Promise.all(Array.from({ length: 100 }, (_, i) => stack!.post('/v1/images/generations', { model: 'grok-imagine', prompt: `concurrent ${i}` })))
    const ok = replies.filter((r) => r.status === 200)
    const refused = replies.filter((r) => r.status === 402)
    expect(ok.length + refused.length).toBe(100)
    expect(stack.sandbox.usdc.transfers.length).toBeLessThanOrEqual(10)
    // Funds are ample, so the budget is the only limit: exactly 10 pay.
    expect(stack.sandbox.usdc.transfers).toHaveLength(10)
    expect(ok).toHaveLength(10)
    expect(stack.sandbox.usdc.settledTotal()).toBe(10n * GROK_PRICE)
    for (const reply of refused) expect(reply.body.error.type).toBe('spend_limit_exceeded')
    // Refused requests were refused before signing: the sandbox saw 10 payment headers in all.
    expect(stack.sandbox.counters.authorizations).toBe(10)
    const records = await readLedger(stack.home)
    expect(records.filter((r) => r.status !== 'declined')).toHaveLength(10)
    // The other 90 were reserved, judged against the budget and declined, with the reason.
    const declined = records.filter((r) => r.status === 'declined')
    expect(declined).toHaveLength(90)
    for (const record of declined) expect(record.reason).toMatch(/24-hour budget/)
    expectLedgerMatchesSandbox(records, stack.sandbox)
    const usage = await (await stack.get('/v1/usage')).json()
    expect([usage.payments, usage.declined]).toEqual([10, 90])
  })

  it('mixed prices at once: never over the budget, ledger equal to the sandbox', async () => {
    stack = await startStack({ settings: { dailyBudget: '0.50', ...OFFLINE_RPC_SETTINGS } })
    const bodies = Array.from({ length: 40 }, (_, i) => [{ model: 'grok-imagine', n: 1 }, { model: 'grok-imagine', n: 2 }, { model: 'gpt-image-2' }, { model: 'nano-banana' }][i % 4]!)
    const replies = await Promise.all(bodies.map((body, i) => stack!.post('/v1/images/generations', { ...body, prompt: `mixed ${i}` })))
    expect(replies.every((r) => r.status === 200 || (r.status === 402 && r.body.error.type === 'spend_limit_exceeded'))).toBe(true)
    const total = stack.sandbox.usdc.settledTotal()
    expect(total).toBeLessThanOrEqual(500_000n)
    // The budget was used: what is left is less than the cheapest price asked.
    expect(500_000n - total).toBeLessThan(GROK_PRICE)
    expectLedgerMatchesSandbox(await readLedger(stack.home), stack.sandbox)
    const usage = await (await stack.get('/v1/usage')).json()
    expect(BigInt(usage.total)).toBe(total)
    expect(BigInt(usage.budget.remaining)).toBe(500_000n - total)
  })
})

describe('two proxy processes sharing one BLOCKRUN_HOME', () => {
  it('share one budget: 2 × 50 concurrent requests, a budget for 10, exactly 10 settle', async () => {
    const home = await tempHome()
    const wallet = await loadWallet({ home })
    const sandbox = await startSandbox({ jobMs: 50, fund: { [wallet.address]: 10_000_000n } })
    const env = { BLOCKRUN_HOME: home, BLOCKRUN_API_URL: sandbox.url, BLOCKRUN_DAILY_BUDGET: '0.22', BLOCKRUN_MAX_PER_REQUEST: '0.10' }
    const [a, b] = await Promise.all([spawnProxy({ env: { ...OFFLINE_RPC, ...env } }), spawnProxy({ env: { ...OFFLINE_RPC, ...env } })])
    try {
      for (const proxy of [a, b]) {
        // Both use the wallet already in the home.
        expect((await (await fetch(`${proxy.url}/health`)).json()).wallet).toBe(wallet.address)
        // Warm both up (x402 code loaded, sockets open) with a request the cap refuses unsigned,
        // so neither process has a head start in the race below.
        const warm = await post(proxy.url, { model: 'banana-pro', n: 4, prompt: 'warm up' })
        expect(warm.body.error.type).toBe('spend_limit_exceeded')
      }
      const replies = await Promise.all(
        Array.from({ length: 100 }, (_, i) => post(i % 2 ? a.url : b.url, { model: 'grok-imagine', prompt: `two processes ${i}` }).then((reply) => ({ ...reply, via: i % 2 ? 'a' : 'b' }))),
      )
      const ok = replies.filter((r) => r.status === 200)
      expect(sandbox.usdc.transfers.length).toBeLessThanOrEqual(10)
      expect(sandbox.usdc.transfers).toHaveLength(10)
      expect(ok).toHaveLength(10)
      // Every other answer, from either process, is a budget refusal: each process saw the
      // reservations the other made. (How the 10 split between them is up to timing.)
      for (const reply of replies.filter((r) => r.status !== 200)) expect(reply.body.error.type).toBe('spend_limit_exceeded')
      console.info(`two-process budget: a paid ${ok.filter((r) => r.via === 'a').length}, b paid ${ok.filter((r) => r.via === 'b').length}`)
      expect(sandbox.counters.authorizations).toBe(10)
      const records = await readLedger(home)
      expect(records.filter((r) => r.status !== 'declined')).toHaveLength(10)
      expect(records.filter((r) => r.status === 'declined')).toHaveLength(90)
      expectLedgerMatchesSandbox(records, sandbox)
      // Each process reports the same shared figures.
      for (const proxy of [a, b]) {
        const usage = await (await fetch(`${proxy.url}/v1/usage`)).json()
        expect(usage.total).toBe(String(10n * GROK_PRICE))
        expect(usage.budget.remaining).toBe('0')
      }
    } finally {
      await Promise.all([a.stop(), b.stop()])
      await sandbox.close()
    }
  })
})

describe('four processes racing on one ledger file', () => {
  it('4 × 50 reservations against a budget for 60: exactly the first 60 in the file are allowed', async () => {
    const home = await tempHome()
    const ledgerModule = join(DIST, 'payment', 'ledger.js')
    // Each process reserves 50 payments of 1,000 base units against a budget of 60,000, yielding
    // to the event loop between reservations so the four interleave in the file.
    const script = `
      const { Ledger } = await import(${JSON.stringify(ledgerModule)});
      const ledger = new Ledger(${JSON.stringify(home)});
      let allowed = 0;
      for (let i = 0; i < 50; i++) {
        const entry = { id: process.pid + '-' + i, requestId: 'r', endpoint: '/v1/images/generations', model: 'm', size: '1024x1024', n: 1, amount: 1000n, network: 'eip155:84532', asset: '0xa', payTo: '0xb' };
        try { await ledger.reserve(entry, 60000n); allowed++ } catch (error) { if (error.type !== 'spend_limit_exceeded') throw error }
        await new Promise((resolve) => setImmediate(resolve));
      }
      await ledger.close();
      process.stdout.write(String(allowed));`
    const outputs = await Promise.all(Array.from({ length: 4 }, () => run(process.execPath, ['--input-type=module', '-e', script])))
    const allowed = outputs.map((output) => Number(output.stdout))
    expect(allowed.reduce((a, b) => a + b, 0)).toBe(60)
    // The file's order is the order of judgement: the first 60 reservations, whichever process
    // wrote them, are the allowed ones; every later one was declined.
    const lines = (await readFile(join(home, 'ledger.jsonl'), 'utf8')).split('\n').filter(Boolean).map((line) => JSON.parse(line))
    const reserved = lines.filter((line) => line.kind === 'reserve').map((line) => line.id)
    const declined = new Set(lines.filter((line) => line.kind === 'declined').map((line) => line.id))
    expect(reserved).toHaveLength(200)
    expect(reserved.slice(0, 60).filter((id) => declined.has(id))).toEqual([])
    expect(reserved.slice(60).every((id) => declined.has(id))).toBe(true)
    // The processes really interleaved (otherwise this would test nothing about the race).
    const writers = reserved.slice(0, 60).map((id) => id.split('-')[0])
    expect(new Set(writers).size).toBeGreaterThan(1)
  })
})
