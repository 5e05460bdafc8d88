/**
 * The ledger: what a line holds, that a payment is on disk before its signed request leaves, how
 * the budget counts each outcome, crash leftovers, and the usage report built from it (HTTP and
 * the `imagegen usage` command in a child process).
 */
import { execFile } from 'node:child_process'
import { appendFile, readFile, stat, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { resolveSettings } from '../server/config.js'
import { startProxy } from '../server/http/server.js'
import { BASE_SEPOLIA } from '../server/payment/networks.js'
import { budgetUsed, DAY_MS, Ledger, readLedger, type ReserveEntry } from '../server/payment/ledger.js'
import { summariseUsage } from '../server/payment/usage.js'
import { SANDBOX_PAY_TO } from '../server/sandbox/app.js'
import { startStack, tempHome, type Stack } from './helpers/stack.js'

const run = promisify(execFile)
const CLI = join(import.meta.dirname, '..', 'dist', 'server', 'cli', 'index.js')
const OFFLINE_RPC = { rpcUrl: 'http://127.0.0.1:9', sepoliaRpcUrl: 'http://127.0.0.1:9' }

type Line = Record<string, any>
async function lines(home: string): Promise<Line[]> {
  const text = await readFile(join(home, 'ledger.jsonl'), 'utf8').catch(() => '')
  return text.split('\n').filter(Boolean).map((line) => JSON.parse(line))
}

let serial = 0
function entry(amount: bigint, overrides: Partial<ReserveEntry> = {}): ReserveEntry {
  serial++
  return { id: `p${serial}`, requestId: `r${serial}`, endpoint: '/v1/images/generations', model: 'black-forest/flux-1.1-pro', size: '1024x1024', n: 1, amount, network: BASE_SEPOLIA.caip2, asset: BASE_SEPOLIA.usdc, payTo: SANDBOX_PAY_TO, ...overrides }
}

describe('what a paid request writes', () => {
  let stack: Stack
  beforeAll(async () => {
    stack = await startStack({ settings: OFFLINE_RPC })
  })
  afterAll(async () => stack.close())

  it('reserve → signed → settled, with every field the issue lists, amounts in base units', async () => {
    const { status, body } = await stack.post('/v1/images/generations', { model: 'gpt-image', prompt: 'ledger fields', size: '1536x1024', n: 2 }, { 'x-request-id': 'ignored-by-design' })
    expect(status).toBe(200)
    const [reserve, signed, settled] = await lines(stack.home)
    const transfer = stack.sandbox.usdc.transfers[0]!
    expect(reserve).toMatchObject({
      kind: 'reserve',
      endpoint: '/v1/images/generations',
      model: 'openai/gpt-image-1',
      size: '1536x1024',
      n: 2,
      amount: '85000', // 2 × $0.04 (the 1536x1024 tier) × 1.05 + $0.001
      asset: BASE_SEPOLIA.usdc,
      network: 'eip155:84532',
      payTo: SANDBOX_PAY_TO,
    })
    expect(typeof reserve!.t).toBe('number')
    expect(reserve!.requestId).toMatch(/\S/)
    expect(signed).toMatchObject({ kind: 'signed', id: reserve!.id, nonce: transfer.nonce, x402Version: 2, payer: stack.wallet.address })
    expect(Number(signed!.validBefore)).toBeGreaterThan(Date.now() / 1000)
    expect(settled).toMatchObject({ kind: 'settled', id: reserve!.id, transaction: transfer.transaction })
    expect(body.cost.transaction).toBe(transfer.transaction)
    expect((await stat(join(stack.home, 'ledger.jsonl'))).mode & 0o777).toBe(0o600)
  })
})

describe('the signed entry is on disk before the signed request leaves', () => {
  it('an upstream reading the ledger when the payment arrives finds its nonce already there', async () => {
    const home = await tempHome()
    const seen: Array<{ nonce: string; onDisk: boolean }> = []
    // A gateway that asks for $0.041 and, when paid, looks in the payer's ledger for the nonce.
    const server: Server = createServer(async (request, response) => {
      const header = request.headers['payment-signature']
      const requirement = { scheme: 'exact', network: BASE_SEPOLIA.caip2, asset: BASE_SEPOLIA.usdc, amount: '41000', payTo: SANDBOX_PAY_TO, maxTimeoutSeconds: 300, extra: BASE_SEPOLIA.usdcDomain }
      const required = { x402Version: 2, error: 'Payment required', resource: { url: 'http://gateway/v1/images/generations' }, accepts: [requirement] }
      if (typeof header === 'string') {
        const nonce = JSON.parse(Buffer.from(header, 'base64').toString('utf8')).payload.authorization.nonce as string
        const onDisk = (await lines(home)).some((line) => line.kind === 'signed' && line.nonce === nonce)
        seen.push({ nonce, onDisk })
      }
      response.writeHead(402, { 'content-type': 'application/json', 'PAYMENT-REQUIRED': Buffer.from(JSON.stringify(required)).toString('base64') })
      response.end(JSON.stringify({ error: 'Payment verification failed', details: 'Verification failed: {"isValid":false,"invalidReason":"insufficient_funds"}' }))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const proxy = await startProxy(resolveSettings({ home, port: 0, upstream: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, ...OFFLINE_RPC }))
    try {
      const response = await fetch(`${proxy.url}/v1/images/generations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'flux', prompt: 'durable first' }) })
      expect(response.status).toBe(402)
      expect(seen).toHaveLength(1)
      expect(seen[0]!.onDisk).toBe(true)
      const [record] = await readLedger(home)
      expect(record).toMatchObject({ status: 'refused', nonce: seen[0]!.nonce, amount: 41_000n })
      expect(record!.reason).toContain('insufficient_funds')
    } finally {
      await proxy.close()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  })
})

describe('a ledger that cannot be written', () => {
  for (const [what, failure] of [
    ['the signed line cannot be written (a full disk)', 'write'],
    ['the signed line cannot be synced', 'sync'],
  ] as const) {
    it(`${what}: nothing is paid, and the caller is told the ledger failed`, async () => {
      const proto = Ledger.prototype as unknown as { write(line: { kind: string }): void; sync(): Promise<void> }
      const { write, sync } = proto
      if (failure === 'write')
        proto.write = function (this: unknown, line) {
          if (line.kind === 'signed') throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' })
          return write.call(this, line)
        }
      else
        proto.sync = function (this: unknown) {
          void sync.call(this)
          return Promise.reject(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }))
        }
      const stack = await startStack({ settings: OFFLINE_RPC })
      try {
        const { status, body } = await stack.post('/v1/images/generations', { prompt: 'no ledger, no payment' })
        expect(status).toBe(500)
        expect(body.error.code).toBe('ledger_unavailable')
        expect(stack.sandbox.counters.authorizations).toBe(0)
        expect(stack.sandbox.usdc.transfers).toHaveLength(0)
        const [record] = await readLedger(stack.home)
        expect(record!.status).toBe('released')
      } finally {
        proto.write = write
        proto.sync = sync
        await stack.close()
      }
    })
  }
})

describe('budget counting by outcome', () => {
  it('spent, pending and unknown count; released does not; refused counts until its authorization expires', async () => {
    const home = await tempHome()
    const ledger = new Ledger(home)
    const budget = 1_000_000n
    const soon = String(Math.floor(Date.now() / 1000) + 300)
    const past = String(Math.floor(Date.now() / 1000) - 10)

    const settled = entry(100_000n)
    await ledger.reserve(settled, budget)
    await ledger.signed(settled.id, { nonce: '0x01', validBefore: soon, x402Version: 2, payer: '0xme' })
    await ledger.settled(settled.id, '0xtx')
    const pending = entry(10_000n)
    await ledger.reserve(pending, budget) // reserved, never signed (e.g. a crash): counted
    const unknown = entry(1_000n)
    await ledger.reserve(unknown, budget)
    await ledger.signed(unknown.id, { nonce: '0x02', validBefore: soon, x402Version: 2, payer: '0xme' })
    await ledger.closed(unknown.id, 'unknown', 'answer lost')
    const released = entry(200_000n)
    await ledger.reserve(released, budget)
    await ledger.closed(released.id, 'released', 'cancelled before sending')
    const refusedLive = entry(20_000n)
    await ledger.reserve(refusedLive, budget)
    await ledger.signed(refusedLive.id, { nonce: '0x03', validBefore: soon, x402Version: 2, payer: '0xme' })
    await ledger.closed(refusedLive.id, 'refused', 'Payment required')
    const refusedExpired = entry(400_000n)
    await ledger.reserve(refusedExpired, budget)
    await ledger.signed(refusedExpired.id, { nonce: '0x04', validBefore: past, x402Version: 2, payer: '0xme' })
    await ledger.closed(refusedExpired.id, 'refused', 'invalid_exact_evm_payload_signature')

    // A refusal cannot be verified (the upstream may settle and say "refused"): every signed
    // authorization counts for the whole day, expired or not.
    expect(await ledger.spentLastDay()).toBe(100_000n + 10_000n + 1_000n + 20_000n + 400_000n)
    expect(await ledger.spentLastDay(Date.now() + 6 * 60_000)).toBe(531_000n)
    // Unless the chain shows an expired one unused: then it can never settle, and stops counting.
    expect((await ledger.unsettledExpired()).map((p) => p.id)).toEqual([refusedExpired.id])
    await ledger.chainVerdict(refusedExpired.id, false, 'authorizationState false')
    expect(await ledger.spentLastDay()).toBe(131_000n)
    expect(await ledger.unsettledExpired()).toEqual([])
    // A day later nothing counts.
    expect(await ledger.spentLastDay(Date.now() + DAY_MS + 1000)).toBe(0n)

    // The reservation that would cross the budget is declined at once, and counts for nothing.
    const before = (await lines(home)).length
    const tooMuch = entry(budget - 131_000n + 1n)
    await expect(ledger.reserve(tooMuch, budget)).rejects.toMatchObject({ type: 'spend_limit_exceeded', code: 'daily_budget' })
    expect((await lines(home)).slice(before)).toMatchObject([
      { kind: 'reserve', id: tooMuch.id },
      { kind: 'declined', id: tooMuch.id, reason: expect.stringMatching(/24-hour budget/) },
    ])
    expect(await ledger.spentLastDay()).toBe(131_000n)
    await ledger.reserve(entry(budget - 131_000n), budget) // exactly to the budget is fine
    await ledger.close()
  })

  it('follows the clock: set back after a jump ahead, or one line dated weeks ahead, it judges as a fresh process would', async () => {
    const T0 = 1_800_000_000_000
    vi.useFakeTimers({ toFake: ['Date'] })
    try {
      // The clock jumps a day ahead, then NTP steps it back: the first reservation counts again.
      const home = await tempHome()
      const ledger = new Ledger(home)
      vi.setSystemTime(T0)
      await ledger.reserve(entry(6n), 10n)
      vi.setSystemTime(T0 + DAY_MS + 1000)
      await ledger.reserve(entry(1n), 10n)
      vi.setSystemTime(T0 + 3_600_000)
      await expect(ledger.reserve(entry(6n), 10n)).rejects.toMatchObject({ code: 'daily_budget' })
      expect(budgetUsed(await readLedger(home), Date.now())).toBeLessThanOrEqual(10n)
      await ledger.close()

      // One line written with a clock a month ahead does not keep later payments in the window.
      const other = await tempHome()
      const second = new Ledger(other)
      vi.setSystemTime(T0 + 30 * DAY_MS)
      await second.reserve(entry(1n), 10n)
      for (let day = 0; day < 8; day += 2) {
        vi.setSystemTime(T0 + day * DAY_MS)
        await second.reserve(entry(5n), 10n) // 1 (the future line) + 5 fits; yesterday's 5 has left
      }
      await second.close()
    } finally {
      vi.useRealTimers()
    }
  })

  it('another Ledger on the same home (another process) sees every reservation', async () => {
    const home = await tempHome()
    const a = new Ledger(home)
    const b = new Ledger(home)
    await a.reserve(entry(300_000n), 500_000n)
    await expect(b.reserve(entry(300_000n), 500_000n)).rejects.toMatchObject({ type: 'spend_limit_exceeded' })
    await b.reserve(entry(200_000n), 500_000n)
    await expect(a.reserve(entry(1n), 500_000n)).rejects.toMatchObject({ type: 'spend_limit_exceeded' })
    const payments = await a.payments()
    expect(payments.filter((p) => p.status === 'reserved').map((p) => p.amount)).toEqual([300_000n, 200_000n])
    expect(payments.filter((p) => p.status === 'declined').map((p) => p.amount)).toEqual([300_000n, 1n])
    await a.close()
    await b.close()
  })

  it('a line torn by a crash loses only itself: the next writer’s line still counts', async () => {
    const home = await tempHome()
    const first = entry(50_000n)
    await writeFile(join(home, 'ledger.jsonl'), `${JSON.stringify({ kind: 'reserve', t: Date.now(), ...first, amount: '50000' })}\n{"kind":"reserve","t":17000000`)
    const ledger = new Ledger(home)
    const next = entry(70_000n)
    await ledger.reserve(next, 1_000_000n)
    expect((await ledger.payments()).map((p) => p.id)).toEqual([first.id, next.id])
    expect(await ledger.spentLastDay()).toBe(120_000n)
    expect((await readLedger(home)).map((p) => p.id)).toEqual([first.id, next.id])
    // Garbage and foreign lines are ignored, never fatal.
    await appendFile(join(home, 'ledger.jsonl'), 'garbage\n{"kind":"settled","id":"nobody","t":1,"transaction":"0x"}\n{"kind":"reserve","id":"bad","amount":"-5","t":1}\n')
    expect((await readLedger(home)).map((p) => p.id)).toEqual([first.id, next.id])
    await ledger.close()
  })
})

describe('usage: spend per day and per model, totals, remaining budget', () => {
  let stack: Stack
  const now = Date.now()
  beforeAll(async () => {
    stack = await startStack({ settings: { dailyBudget: '2.00', ...OFFLINE_RPC } })
    // Two older settled payments, written as an earlier run would have written them.
    const old = (daysAgo: number, id: string, model: string, amount: string, n: number) => {
      const t = now - daysAgo * DAY_MS
      return [
        { kind: 'reserve', t, id, requestId: id, endpoint: '/v1/images/generations', model, size: '1024x1024', n, amount, network: 'eip155:84532', asset: BASE_SEPOLIA.usdc, payTo: SANDBOX_PAY_TO },
        { kind: 'signed', t, id, nonce: `0x${id}`, validBefore: String(Math.floor(t / 1000) + 300), x402Version: 2, payer: stack.wallet.address },
        { kind: 'settled', t, id, transaction: `0x${id}tx` },
      ]
    }
    const history = [...old(3, 'old3', 'openai/gpt-image-1', '21000', 1), ...old(40, 'old40', 'black-forest/flux-1.1-pro', '41000', 1)]
    await writeFile(join(stack.home, 'ledger.jsonl'), history.map((l) => `${JSON.stringify(l)}\n`).join(''), { mode: 0o600 })

    // List price × n × 1.05 + the $0.001 fee.
    const paid = [
      { model: 'grok-imagine', prompt: 'u1' }, // 22000
      { model: 'grok-imagine', prompt: 'u2' }, // 22000
      { model: 'grok-imagine', prompt: 'u3', n: 2 }, // 43000
      { model: 'cogview', prompt: 'u4' }, // 16750
      { model: 'nano-banana', prompt: 'u5' }, // 53500
    ]
    for (const body of paid) expect((await stack.post('/v1/images/generations', body)).status).toBe(200)
    // One whose answer is lost after settling (unknown), one the upstream refuses after payment.
    expect((await stack.post('/v1/images/generations', { model: 'gpt-image', prompt: 'lost [fault:reset-after-pay]' })).status).toBeGreaterThanOrEqual(500)
    // (n: 2, a route not paid before, so it is one ordinary round, not a pre-paid retry.)
    expect((await stack.post('/v1/images/generations', { model: 'nano-banana', n: 2, prompt: 'refused [fault:payment-required-again]' })).status).toBe(402)
  })
  afterAll(async () => stack.close())

  // Today: 22000 + 22000 + 43000 + 16750 + 53500 = 157250 settled, + 22000 unknown (gpt-image).
  const TODAY_SPENT = 179_250n
  // The refused $0.106 authorization: not spent, but held against the budget (it could settle).
  const HELD = 106_000n

  it('GET /v1/usage?days=1', async () => {
    const report = await (await stack.get('/v1/usage?days=1')).json()
    expect(report.total).toBe(String(TODAY_SPENT))
    expect(report.totalUsd).toBe('$0.17925')
    expect(report.payments).toBe(6)
    expect(report.images).toBe(7)
    expect(report.unconfirmed).toBe(1)
    expect(report.refused).toBe(1)
    expect(report.byDay).toEqual([{ day: new Date().toISOString().slice(0, 10), amount: String(TODAY_SPENT), usd: '$0.17925', payments: 6, images: 7 }])
    expect(report.byModel).toEqual([
      { model: 'xai/grok-imagine-image', amount: '87000', usd: '$0.087', payments: 3, images: 4 },
      { model: 'google/nano-banana', amount: '53500', usd: '$0.0535', payments: 1, images: 1 },
      { model: 'openai/gpt-image-1', amount: '22000', usd: '$0.022', payments: 1, images: 1 },
      { model: 'zai/cogview-4', amount: '16750', usd: '$0.01675', payments: 1, images: 1 },
    ])
    expect(report.held).toBe(1)
    expect(report.budget).toEqual({
      daily: '2000000',
      dailyUsd: '$2.00',
      usedLast24h: String(TODAY_SPENT + HELD),
      usedLast24hUsd: '$0.28525',
      spentLast24h: String(TODAY_SPENT),
      spentLast24hUsd: '$0.17925',
      heldLast24h: String(HELD),
      heldLast24hUsd: '$0.106',
      remaining: String(2_000_000n - TODAY_SPENT - HELD),
      remainingUsd: '$1.71475',
    })
    // What the ledger calls spent today is what the sandbox settled: the lost answer did settle.
    const spentToday = (await readLedger(stack.home)).filter((r) => (r.status === 'settled' || r.status === 'unknown') && r.time > now - DAY_MS)
    expect(spentToday.reduce((s, r) => s + r.amount, 0n)).toBe(stack.sandbox.usdc.settledTotal())
  })

  it('the window follows --days: 7 days takes in the older payment, 30 not the 40-day-old one, 60 does', async () => {
    const week = await (await stack.get('/v1/usage?days=7')).json()
    expect(week.total).toBe(String(TODAY_SPENT + 21_000n))
    expect(week.byDay.map((d: { day: string }) => d.day)).toEqual([new Date(now - 3 * DAY_MS).toISOString().slice(0, 10), new Date().toISOString().slice(0, 10)])
    expect(week.byModel.find((m: { model: string }) => m.model === 'openai/gpt-image-1')).toMatchObject({ amount: '43000', payments: 2 })
    expect((await (await stack.get('/v1/usage?days=30')).json()).total).toBe(String(TODAY_SPENT + 21_000n))
    expect((await (await stack.get('/v1/usage?days=60')).json()).total).toBe(String(TODAY_SPENT + 21_000n + 41_000n))
    // Old payments never touch the 24-hour budget.
    expect(week.budget.usedLast24h).toBe(String(TODAY_SPENT + HELD))
    expect((await stack.get('/v1/usage?days=0')).status).toBe(400)
  })

  it('`imagegen usage --days 7` in a child process: same figures, in-process and through the proxy', async () => {
    const http = await (await stack.get('/v1/usage?days=7')).json()
    const base = { ...process.env, BLOCKRUN_HOME: stack.home, BLOCKRUN_DAILY_BUDGET: '2.00', BASE_RPC_URL: OFFLINE_RPC.rpcUrl }
    // Port 0: no proxy to find, so the command reads the shared ledger itself.
    const local = JSON.parse((await run(process.execPath, [CLI, 'usage', '--days', '7', '--json'], { env: { ...base, BLOCKRUN_PROXY_PORT: '0' } })).stdout)
    const remote = JSON.parse((await run(process.execPath, [CLI, 'usage', '--days', '7', '--json'], { env: { ...base, BLOCKRUN_PROXY_PORT: String(stack.proxy.port) } })).stdout)
    for (const report of [local, remote]) {
      expect(report.total).toBe(http.total)
      expect(report.byDay).toEqual(http.byDay)
      expect(report.byModel).toEqual(http.byModel)
      expect(report.budget.daily).toBe('2000000')
      // The held authorization may expire between calls only after minutes; same figure here.
      expect(report.budget.remaining).toBe(http.budget.remaining)
    }

    const text = (await run(process.execPath, [CLI, 'usage', '--days', '7'], { env: { ...base, BLOCKRUN_PROXY_PORT: '0' } })).stdout
    expect(text).toContain('$0.20025 in 7 payment(s), 1 unconfirmed')
    expect(text).toContain('xai/grok-imagine-image')
    expect(text).toMatch(/\$0\.087\s+4 image\(s\)/)
    expect(text).toContain('Budget: $0.28525 of $2.00 used in the last 24 h ($0.17925 spent, $0.106 held by authorizations the upstream did not settle, until the chain shows them unused), $1.71475 left')

    const bad = await run(process.execPath, [CLI, 'usage', '--days', '0'], { env: { ...base, BLOCKRUN_PROXY_PORT: '0' } }).catch((error: { code: number; stderr: string }) => error)
    expect((bad as { code: number }).code).toBe(2)
  })
})

describe('summariseUsage (pure)', () => {
  it('sums exactly in base units and never reports a negative remainder', () => {
    const t = Date.UTC(2026, 0, 2, 12)
    const record = (id: string, amount: bigint, status: 'settled' | 'refused' | 'released', hoursAgo: number, model = 'm') => ({
      ...entry(amount, { id, model }),
      time: t - hoursAgo * 3_600_000,
      status,
    })
    const records = [record('a', 1n, 'settled', 1), record('b', 999_999n, 'settled', 13), record('c', 5n, 'refused', 2), record('d', 7n, 'released', 2), record('e', 3_000_000n, 'settled', 30, 'n')]
    const report = summariseUsage(records, { days: 2, dailyBudget: 500_000n, now: t })
    expect(report.total).toBe('4000000')
    // UTC days: 13 h before noon on the 2nd is the evening of the 1st.
    expect(report.byDay.map((d) => [d.day, d.amount])).toEqual([
      ['2026-01-01', '3999999'],
      ['2026-01-02', '1'],
    ])
    // The refused 5 is held: it counts against the budget, but it is not spent.
    expect(report.budget).toMatchObject({ usedLast24h: '1000005', spentLast24h: '1000000', heldLast24h: '5', remaining: '0', remainingUsd: '$0.00' })
    expect(budgetUsed(records, t)).toBe(1_000_005n)
  })
})
