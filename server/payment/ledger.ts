/**
 * The payment ledger: an append-only JSON-lines file in `$BLOCKRUN_HOME`, shared by every process
 * that uses the same home (proxy, MCP servers, OpenClaw, CLI). It is both the record of where the
 * money went and the rolling-budget counter.
 *
 * A payment's life: `reserve` (the budget check) → `signed` (written as the authorization is
 * signed, fsync'd before the signed request leaves) → one outcome: `settled` (with the
 * transaction), `refused` (the upstream rejected the authorization), `failed` (the upstream said
 * the work failed, no settlement shown), `abandoned` (a job we stopped polling), `unknown` (sent,
 * answer lost: counted as spent) or `released` (no signature left this process). A reservation the budget
 * does not allow is closed at once as `declined`.
 *
 * The file's order is the order of reservations. Each one is appended first, with a single
 * write() on an O_APPEND descriptor (so lines from several processes never interleave), and then
 * judged against every reservation that precedes it in the file. Two processes reserving at the
 * same instant both see the one that landed first; the later one cannot overspend, and no lock is
 * needed (a lock file cost more than the rest of the payment bookkeeping together, and could be
 * left behind by a crash). A reservation still being judged elsewhere counts as spent, which errs
 * on the safe side.
 *
 * What counts against the 24-hour budget is every amount that could still leave the wallet:
 * reserved, signed, settled and unknown payments, and held ones (refused, failed, abandoned) whose
 * authorization has not expired yet (an upstream that said "no" still holds a valid signature
 * until `validBefore`).
 */
import { readFile } from 'node:fs/promises'
import { closeSync, existsSync, fdatasync, fstatSync, mkdirSync, openSync, readSync, writeSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { StringDecoder } from 'node:string_decoder'
import { ImagegenError } from '../errors.js'
import { syncDirectorySync } from '../store/atomic.js'
import { formatUsd } from '../money.js'
import { BudgetWindow, countsAgainstBudget, HELD_STATUSES } from './budget-window.js'
import { applyLine, type LedgerLine, type PaymentRecord, type ReserveEntry, type SignedDetails, type ClosedKind } from './ledger-lines.js'

export type { ClosedKind, LedgerLine, PaymentRecord, PaymentStatus, ReserveEntry, SignedDetails } from './ledger-lines.js'

export { countsAgainstBudget, DAY_MS, HELD_STATUSES, SPENT_STATUSES } from './budget-window.js'

export const LEDGER_FILE = 'ledger.jsonl'

/** The sum `countsAgainstBudget` selects. */
export function budgetUsed(records: Iterable<PaymentRecord>, now: number): bigint {
  let total = 0n
  for (const record of records) if (countsAgainstBudget(record, now)) total += record.amount
  return total
}

export class Ledger {
  readonly path: string
  private fd: number | undefined
  /** Lines written since the last fdatasync; `close` syncs them. */
  private dirty = false
  /** fdatasync calls not yet finished; `close` waits for them. */
  private syncing: Promise<unknown> = Promise.resolve()
  /** Folded state of every line read so far, by payment id (insertion order is file order). */
  private readonly records = new Map<string, PaymentRecord>()
  /** The last day's reservations in file order, with running totals: what a budget check reads. */
  private readonly window = new BudgetWindow(() => this.records.values())
  private readOffset = 0
  private partial = ''
  private readonly decoder = new StringDecoder('utf8')

  constructor(home: string) {
    mkdirSync(home, { recursive: true, mode: 0o700 })
    this.path = join(home, LEDGER_FILE)
  }

  /**
   * Records the reservation, then checks the rolling 24-hour budget against every reservation
   * before it in the file (from any process). If the amount does not fit, the reservation is
   * closed as `declined` and a spend-limit error is thrown: nothing may be signed.
   * Synchronous inside: no other request of this process can slip in between.
   */
  async reserve(entry: ReserveEntry, dailyBudget: bigint): Promise<void> {
    const now = Date.now()
    this.write({ kind: 'reserve', t: now, ...entry, amount: entry.amount.toString() })
    let used: bigint
    try {
      this.catchUp()
      used = this.usedBefore(entry.id, now)
    } catch (error) {
      // Not judged, so not allowed: close it rather than leave it counting for a day.
      this.tryWrite({ kind: 'released', t: Date.now(), id: entry.id, reason: 'the ledger could not be read back' })
      throw error
    }
    if (used + entry.amount > dailyBudget) {
      this.tryWrite({ kind: 'declined', t: Date.now(), id: entry.id, reason: `over the 24-hour budget of ${formatUsd(dailyBudget)}` })
      throw budgetExceeded(entry.amount, dailyBudget, used)
    }
  }

  /**
   * Records the authorization about to be signed (its nonce and expiry) and resolves once the
   * line is on disk. The payer calls it as the signature is computed, so the fdatasync runs on
   * the thread pool while the main thread signs, and awaits it before the request may leave.
   */
  signed(id: string, details: SignedDetails): Promise<void> {
    this.write({ kind: 'signed', t: Date.now(), id, ...details })
    return this.sync()
  }

  /**
   * Outcome lines are not synced on their own: the next `signed` line's fdatasync, `close`, or
   * the kernel's writeback (seconds) makes them durable. Losing one to a power cut leaves the
   * payment `signed`, which the budget counts as spent: the safe side.
   */
  async settled(id: string, transaction: string): Promise<void> {
    this.write({ kind: 'settled', t: Date.now(), id, transaction })
  }

  async closed(id: string, kind: Exclude<ClosedKind, 'declined'>, reason: string): Promise<void> {
    this.write({ kind, t: Date.now(), id, reason })
  }

  /** Records the chain's verdict on an expired authorization (see PaymentRecord.chain). */
  async chainVerdict(id: string, used: boolean, reason: string): Promise<void> {
    this.write({ kind: 'chain', t: Date.now(), id, used, reason })
  }

  /**
   * Authorizations that still count against the budget at `now` although they may never settle:
   * held or unknown, expired by this machine's clock, signed with a nonce, and not yet judged by
   * the chain. Newest first. The chain's own clock has the last word (chain-state.ts): this
   * machine's may run ahead of it.
   */
  async unsettledExpired(now = Date.now()): Promise<PaymentRecord[]> {
    this.catchUp()
    const found: PaymentRecord[] = []
    for (const record of this.records.values()) {
      if (record.chain || !record.nonce || record.validBefore === undefined || record.validBefore * 1000 >= now) continue
      if ((HELD_STATUSES.has(record.status) || record.status === 'unknown') && countsAgainstBudget(record, now)) found.push({ ...record })
    }
    return found.sort((a, b) => b.time - a.time)
  }

  /** Every payment, oldest first, including those written by other processes. */
  async payments(): Promise<PaymentRecord[]> {
    this.catchUp()
    return sortByTime(this.records.values())
  }

  /** One payment as it stands now (a copy), by id: the gallery joins results to their payments without copying the whole ledger. */
  payment(id: string): PaymentRecord | undefined {
    this.catchUp()
    const record = this.records.get(id)
    return record && { ...record }
  }

  /** What counts against the budget now (spent, pending, unknown, or refused but still valid). */
  async spentLastDay(now = Date.now()): Promise<bigint> {
    this.catchUp()
    return budgetUsed(this.records.values(), now)
  }

  async close(): Promise<void> {
    if (this.dirty) await this.sync().catch(() => undefined)
    // Every fdatasync in flight finishes first, including one a late `signed` started meanwhile:
    // the descriptor is never closed (and its number reused) under a sync.
    for (let pending = this.syncing; ; pending = this.syncing) {
      await pending
      if (pending === this.syncing) break
    }
    const fd = this.fd
    this.fd = undefined
    if (fd !== undefined) closeSync(fd)
  }

  /** Appends one line with a single write() on an O_APPEND descriptor. */
  private write(line: LedgerLine): void {
    // One descriptor reads and appends: O_APPEND puts every write at the end, reads are positional.
    if (this.fd === undefined) {
      const created = !existsSync(this.path)
      this.fd = openSync(this.path, 'a+', 0o600)
      // A new file's name must reach the disk too, or a power cut could take the whole ledger,
      // fsync'd lines and all. Once per home, so done right here.
      if (created) syncDirectorySync(dirname(this.path))
    }
    const text = Buffer.from(`${JSON.stringify(line)}\n`)
    const written = writeSync(this.fd, text)
    // A short write (a full disk) leaves a torn line, which readers skip; the caller must not go on.
    if (written !== text.length) throw new Error(`short write to ${this.path} (${written} of ${text.length} bytes)`)
    this.dirty = true
  }

  /** `write` for closing lines on a failure path: the original error is the one to report. */
  private tryWrite(line: LedgerLine): void {
    try {
      this.write(line)
    } catch {
      // the reservation then stays open and counts (the safe side)
    }
  }

  /** fdatasync on the thread pool: everything written so far is on disk when it resolves. */
  private sync(): Promise<void> {
    const fd = this.fd
    if (fd === undefined) return Promise.resolve()
    this.dirty = false
    const synced = new Promise<void>((resolve, reject) => fdatasync(fd, (error) => (error ? reject(error) : resolve())))
    this.syncing = Promise.all([this.syncing, synced.catch(() => undefined)])
    return synced
  }

  /** The budget used by the reservations before `id` in the file, as they stand now. */
  private usedBefore(id: string, now: number): bigint {
    const used = this.window.usedBefore(id, now)
    if (used === undefined) throw new Error(`the reservation ${id} was written but not found in ${this.path}`)
    return used
  }

  /**
   * Folds in whatever was appended since the last read, by any process. Synchronous: reads are
   * incremental (a few lines), and a synchronous read cannot interleave with another one.
   */
  private catchUp(): void {
    if (this.fd === undefined) {
      // Nothing to read yet; reading alone never creates the file.
      if (!existsSync(this.path)) return
      this.fd = openSync(this.path, 'a+', 0o600)
    }
    const size = fstatSync(this.fd).size
    if (size <= this.readOffset) return
    const buffer = Buffer.alloc(size - this.readOffset)
    const bytesRead = readSync(this.fd, buffer, 0, buffer.length, this.readOffset)
    this.readOffset += bytesRead
    // A character cut by a line still being written is completed by the next read.
    const text = this.partial + this.decoder.write(buffer.subarray(0, bytesRead))
    const lines = text.split('\n')
    this.partial = lines.pop() ?? ''
    for (const raw of lines) applyLine(this.records, raw, this.window)
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

