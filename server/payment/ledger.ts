/**
 * The payment ledger: an append-only JSON-lines file in `$BLOCKRUN_HOME`, shared by every process
 * that uses the same home (proxy, MCP servers, OpenClaw, CLI). It is both the record of where the
 * money went and the rolling-budget counter.
 *
 * A payment's life: `reserve` (under a cross-process lock, after the budget check) → `signed`
 * (fsync'd before the signed request leaves) → one outcome: `settled`, `refused` (the upstream
 * rejected the authorization, so it can never settle), `unknown` (sent, answer lost: counted as
 * spent) or `released` (no signature was made after all).
 */
import { open, readFile, stat, type FileHandle } from 'node:fs/promises'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { ImagegenError } from '../errors.js'
import { formatUsd } from '../money.js'
import { withFileLock } from '../store/lock.js'

export type PaymentStatus = 'reserved' | 'signed' | 'settled' | 'refused' | 'unknown' | 'released'

export type ReserveEntry = {
  id: string
  requestId: string
  endpoint: string
  model: string
  size: string
  n: number
  amount: bigint
  network: string
  asset: string
  payTo: string
}

type Line =
  | ({ kind: 'reserve'; t: number } & Omit<ReserveEntry, 'amount'> & { amount: string })
  | { kind: 'signed'; t: number; id: string; nonce: string; validBefore: string; x402Version: number; payer: string }
  | { kind: 'settled'; t: number; id: string; transaction: string }
  | { kind: 'refused' | 'unknown' | 'released'; t: number; id: string; reason: string }

export type PaymentRecord = Omit<ReserveEntry, 'amount'> & {
  amount: bigint
  time: number
  status: PaymentStatus
  nonce?: string
  transaction?: string
  reason?: string
}

const DAY_MS = 24 * 60 * 60 * 1000
const COUNTED: ReadonlySet<PaymentStatus> = new Set(['reserved', 'signed', 'settled', 'unknown'])

export class Ledger {
  readonly path: string
  private readonly lockPath: string
  private handle: Promise<FileHandle> | undefined
  /** Folded state of every line read so far, by payment id. */
  private readonly records = new Map<string, PaymentRecord>()
  private readOffset = 0
  private partial = ''

  constructor(home: string) {
    mkdirSync(home, { recursive: true })
    this.path = join(home, 'ledger.jsonl')
    this.lockPath = join(home, 'ledger.lock')
  }

  /**
   * Checks the rolling 24-hour budget and, if the amount fits, records the reservation. Runs under
   * the cross-process lock, so concurrent requests in any process cannot overspend.
   */
  async reserve(entry: ReserveEntry, dailyBudget: bigint): Promise<void> {
    await withFileLock(this.lockPath, async () => {
      await this.catchUp()
      const spent = this.spentInWindow(Date.now())
      if (spent + entry.amount > dailyBudget) {
        throw new ImagegenError({
          status: 402,
          type: 'spend_limit_exceeded',
          code: 'daily_budget',
          message:
            `This payment of ${formatUsd(entry.amount)} would exceed your 24-hour budget of ${formatUsd(dailyBudget)} ` +
            `(${formatUsd(spent)} spent or pending, ${formatUsd(dailyBudget > spent ? dailyBudget - spent : 0n)} left). Nothing was signed. ` +
            'Raise it with BLOCKRUN_DAILY_BUDGET (or --daily-budget, or the plugin setting dailyBudget), or wait.',
        })
      }
      await this.append({ kind: 'reserve', t: Date.now(), ...entry, amount: entry.amount.toString() }, false)
    })
  }

  signed(id: string, details: { nonce: string; validBefore: string; x402Version: number; payer: string }): Promise<void> {
    return this.append({ kind: 'signed', t: Date.now(), id, ...details }, true)
  }

  settled(id: string, transaction: string): Promise<void> {
    return this.append({ kind: 'settled', t: Date.now(), id, transaction }, true)
  }

  closed(id: string, kind: 'refused' | 'unknown' | 'released', reason: string): Promise<void> {
    return this.append({ kind, t: Date.now(), id, reason }, true)
  }

  /** Every payment, oldest first, including those written by other processes. */
  async payments(): Promise<PaymentRecord[]> {
    await this.catchUp()
    return [...this.records.values()].sort((a, b) => a.time - b.time)
  }

  /** Counted spend (settled, pending or unknown) in the 24 hours before `now`. */
  async spentLastDay(now = Date.now()): Promise<bigint> {
    await this.catchUp()
    return this.spentInWindow(now)
  }

  async close(): Promise<void> {
    const handle = this.handle
    this.handle = undefined
    if (handle) await (await handle).close()
  }

  private spentInWindow(now: number): bigint {
    let total = 0n
    for (const record of this.records.values()) {
      if (record.time > now - DAY_MS && COUNTED.has(record.status)) total += record.amount
    }
    return total
  }

  private async append(line: Line, durable: boolean): Promise<void> {
    this.handle ??= open(this.path, 'a', 0o600)
    const handle = await this.handle
    // One write per line on an O_APPEND descriptor: lines from several processes never interleave.
    await handle.write(`${JSON.stringify(line)}\n`)
    if (durable) await handle.datasync()
  }

  /** Reads whatever was appended since the last read (by any process) and folds it in. */
  private async catchUp(): Promise<void> {
    const size = await stat(this.path).then((s) => s.size, () => 0)
    if (size <= this.readOffset) return
    const reader = await open(this.path, 'r')
    try {
      const buffer = Buffer.alloc(size - this.readOffset)
      await reader.read(buffer, 0, buffer.length, this.readOffset)
      this.readOffset = size
      const text = this.partial + buffer.toString('utf8')
      const lines = text.split('\n')
      this.partial = lines.pop() ?? ''
      for (const raw of lines) applyLine(this.records, raw)
    } finally {
      await reader.close()
    }
  }
}

/** Folds one ledger line into the per-payment state. */
function applyLine(records: Map<string, PaymentRecord>, raw: string): void {
  if (!raw.trim()) return
  let line: Line
  try {
    line = JSON.parse(raw) as Line
  } catch {
    return // a torn last line from a crash: nothing it described was counted
  }
  if (line.kind === 'reserve') {
    const { kind: _kind, t, amount, ...rest } = line
    records.set(line.id, { ...rest, amount: BigInt(amount), time: t, status: 'reserved' })
    return
  }
  const record = records.get(line.id)
  if (!record) return
  if (line.kind === 'signed') {
    record.status = 'signed'
    record.nonce = line.nonce
  } else if (line.kind === 'settled') {
    record.status = 'settled'
    record.transaction = line.transaction
  } else {
    record.status = line.kind
    record.reason = line.reason
  }
}

/** Reads a ledger without opening it for writing (for `imagegen usage`). */
export async function readLedger(home: string): Promise<PaymentRecord[]> {
  const text = await readFile(join(home, 'ledger.jsonl'), 'utf8').catch(() => '')
  const records = new Map<string, PaymentRecord>()
  for (const raw of text.split('\n')) applyLine(records, raw)
  return [...records.values()]
}
