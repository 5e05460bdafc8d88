/**
 * The payment ledger: an append-only JSON-lines file in `$BLOCKRUN_HOME`, shared by every process
 * that uses the same home (proxy, MCP servers, OpenClaw, CLI). It is both the record of where the
 * money went and the rolling-budget counter.
 *
 * A payment's life: `reserve` (under a cross-process lock, after the budget check) → `signed`
 * (fsync'd before the signed request leaves) → one outcome: `settled` (with the transaction),
 * `refused` (the upstream rejected the authorization), `unknown` (sent, answer lost: counted as
 * spent) or `released` (no signature left this process).
 *
 * What counts against the 24-hour budget is every amount that could still leave the wallet:
 * reserved, signed, settled and unknown payments, and refused ones whose authorization has not
 * expired yet (an upstream that said "no" still holds a valid signature until `validBefore`).
 */
import { readFile } from 'node:fs/promises'
import { closeSync, fdatasync, fstatSync, mkdirSync, openSync, readSync, statSync, writeSync } from 'node:fs'
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

/** One line of the file. Amounts are decimal strings of base units; `t` is epoch ms. */
export type LedgerLine =
  | ({ kind: 'reserve'; t: number } & Omit<ReserveEntry, 'amount'> & { amount: string })
  | { kind: 'signed'; t: number; id: string; nonce: string; validBefore: string; x402Version: number; payer: string }
  | { kind: 'settled'; t: number; id: string; transaction: string }
  | { kind: 'refused' | 'unknown' | 'released'; t: number; id: string; reason: string }

export type PaymentRecord = Omit<ReserveEntry, 'amount'> & {
  amount: bigint
  /** When the payment was reserved, epoch ms. */
  time: number
  status: PaymentStatus
  nonce?: string
  /** End of the authorization's validity, epoch seconds (from the signed line). */
  validBefore?: number
  transaction?: string
  reason?: string
}

export const DAY_MS = 24 * 60 * 60 * 1000
export const LEDGER_FILE = 'ledger.jsonl'

/** Statuses that are money gone (or possibly gone): what usage reports as spent. */
export const SPENT_STATUSES: ReadonlySet<PaymentStatus> = new Set(['reserved', 'signed', 'settled', 'unknown'])

/**
 * True when `record` counts against the rolling budget at `now`: it was reserved in the last 24
 * hours and is spent or pending, or refused while its authorization is still valid.
 */
export function countsAgainstBudget(record: PaymentRecord, now: number): boolean {
  if (record.time <= now - DAY_MS) return false
  if (SPENT_STATUSES.has(record.status)) return true
  return record.status === 'refused' && record.validBefore !== undefined && record.validBefore * 1000 > now
}

/** The sum `countsAgainstBudget` selects. */
export function budgetUsed(records: Iterable<PaymentRecord>, now: number): bigint {
  let total = 0n
  for (const record of records) if (countsAgainstBudget(record, now)) total += record.amount
  return total
}

export class Ledger {
  readonly path: string
  private readonly lockPath: string
  private fd: number | undefined
  /** fdatasync calls not yet finished; `close` waits for them. */
  private syncing: Promise<unknown> = Promise.resolve()
  /** Folded state of every line read so far, by payment id. */
  private readonly records = new Map<string, PaymentRecord>()
  private readOffset = 0
  private partial = ''

  constructor(home: string) {
    mkdirSync(home, { recursive: true, mode: 0o700 })
    this.path = join(home, LEDGER_FILE)
    this.lockPath = join(home, 'ledger.lock')
  }

  /**
   * Checks the rolling 24-hour budget and, if the amount fits, records the reservation. Runs under
   * the cross-process lock, so concurrent requests in any process cannot overspend.
   */
  async reserve(entry: ReserveEntry, dailyBudget: bigint): Promise<void> {
    await withFileLock(this.lockPath, async () => {
      this.catchUp()
      const now = Date.now()
      const used = budgetUsed(this.records.values(), now)
      if (used + entry.amount > dailyBudget) throw budgetExceeded(entry.amount, dailyBudget, used)
      await this.append({ kind: 'reserve', t: now, ...entry, amount: entry.amount.toString() }, false)
    })
  }

  signed(id: string, details: { nonce: string; validBefore: string; x402Version: number; payer: string }): Promise<void> {
    return this.append({ kind: 'signed', t: Date.now(), id, ...details }, true)
  }

  settled(id: string, transaction: string): Promise<void> {
    return this.append({ kind: 'settled', t: Date.now(), id, transaction }, false)
  }

  closed(id: string, kind: 'refused' | 'unknown' | 'released', reason: string): Promise<void> {
    return this.append({ kind, t: Date.now(), id, reason }, false)
  }

  /** Every payment, oldest first, including those written by other processes. */
  async payments(): Promise<PaymentRecord[]> {
    this.catchUp()
    return sortByTime(this.records.values())
  }

  /** What counts against the budget now (spent, pending, unknown, or refused but still valid). */
  async spentLastDay(now = Date.now()): Promise<bigint> {
    this.catchUp()
    return budgetUsed(this.records.values(), now)
  }

  async close(): Promise<void> {
    await this.syncing
    const fd = this.fd
    this.fd = undefined
    if (fd !== undefined) closeSync(fd)
  }

  /**
   * Appends one line with a single write() on an O_APPEND descriptor, so lines from several
   * processes never interleave. `durable` waits for fdatasync: the `signed` line must be on disk
   * before the paid request leaves. Other lines are synced in the background: losing an outcome
   * line to a power cut leaves the payment `signed`, which the budget counts as spent.
   */
  private append(line: LedgerLine, durable: boolean): Promise<void> {
    this.fd ??= openSync(this.path, 'a', 0o600)
    const fd = this.fd
    writeSync(fd, `${JSON.stringify(line)}\n`)
    const synced = new Promise<void>((resolve, reject) => fdatasync(fd, (error) => (error ? reject(error) : resolve())))
    this.syncing = Promise.all([this.syncing, synced.catch(() => undefined)]).then(() => undefined)
    return durable ? synced : Promise.resolve()
  }

  /**
   * Folds in whatever was appended since the last read, by any process. Synchronous: reads are
   * incremental (a few lines), and a synchronous read cannot interleave with another one.
   */
  private catchUp(): void {
    let size: number
    try {
      size = statSync(this.path).size
    } catch {
      return
    }
    if (size <= this.readOffset) return
    const reader = openSync(this.path, 'r')
    try {
      const length = Math.min(size, fstatSync(reader).size) - this.readOffset
      const buffer = Buffer.alloc(Math.max(0, length))
      const bytesRead = length > 0 ? readSync(reader, buffer, 0, length, this.readOffset) : 0
      this.readOffset += bytesRead
      const text = this.partial + buffer.subarray(0, bytesRead).toString('utf8')
      const lines = text.split('\n')
      this.partial = lines.pop() ?? ''
      for (const raw of lines) applyLine(this.records, raw)
    } finally {
      closeSync(reader)
    }
  }
}

function budgetExceeded(amount: bigint, budget: bigint, used: bigint): ImagegenError {
  const left = budget > used ? budget - used : 0n
  return new ImagegenError({
    status: 402,
    type: 'spend_limit_exceeded',
    code: 'daily_budget',
    param: 'dailyBudget',
    message:
      `The upstream asks ${formatUsd(amount)} for this request, which would exceed your 24-hour budget of ${formatUsd(budget)} ` +
      `(${formatUsd(used)} spent or pending in the last 24 hours, ${formatUsd(left)} left). Nothing was signed. ` +
      'Raise the budget with BLOCKRUN_DAILY_BUDGET (or --daily-budget, or the plugin setting dailyBudget), or wait for older payments to leave the 24-hour window.',
  })
}

function sortByTime(records: Iterable<PaymentRecord>): PaymentRecord[] {
  return [...records].map((r) => ({ ...r })).sort((a, b) => a.time - b.time)
}

/**
 * Parses one line. A line torn by a crash has no newline, so the next process's line is glued to
 * it; the last `{"kind":` in such a line starts the intact part, which is kept.
 */
function parseLine(raw: string): LedgerLine | undefined {
  try {
    return JSON.parse(raw) as LedgerLine
  } catch {
    const start = raw.lastIndexOf('{"kind":')
    if (start <= 0) return undefined
    try {
      return JSON.parse(raw.slice(start)) as LedgerLine
    } catch {
      return undefined
    }
  }
}

/** Folds one ledger line into the per-payment state. */
function applyLine(records: Map<string, PaymentRecord>, raw: string): void {
  if (!raw.trim()) return
  const line = parseLine(raw)
  if (!line || typeof line !== 'object' || typeof line.id !== 'string') return
  if (line.kind === 'reserve') {
    if (records.has(line.id)) return
    const { kind: _kind, t, amount, ...rest } = line
    if (!/^\d+$/.test(amount)) return
    records.set(line.id, { ...rest, amount: BigInt(amount), time: t, status: 'reserved' })
    return
  }
  const record = records.get(line.id)
  if (!record) return
  if (line.kind === 'signed') {
    // An outcome may already be folded in; signing never moves a payment backwards.
    if (record.status === 'reserved') record.status = 'signed'
    record.nonce = line.nonce
    const validBefore = Number(line.validBefore)
    if (Number.isFinite(validBefore) && validBefore > 0) record.validBefore = validBefore
  } else if (line.kind === 'settled') {
    record.status = 'settled'
    record.transaction = line.transaction
  } else if (line.kind === 'refused' || line.kind === 'unknown' || line.kind === 'released') {
    // A settlement seen once is final: a later "unknown" from a lost poll cannot undo it.
    if (record.status === 'settled') return
    record.status = line.kind
    record.reason = line.reason
  }
}

/** Reads a ledger without opening it for writing (for reports and tests). */
export async function readLedger(home: string): Promise<PaymentRecord[]> {
  const text = await readFile(join(home, LEDGER_FILE), 'utf8').catch(() => '')
  const records = new Map<string, PaymentRecord>()
  const lines = text.split('\n')
  // The last piece has no newline yet: it is either empty or a line still being written.
  lines.pop()
  for (const raw of lines) applyLine(records, raw)
  return sortByTime(records.values())
}
