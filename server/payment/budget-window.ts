/**
 * The reservations of the last 24 hours, in ledger order, with a running total of what they
 * count against the budget, so a budget check costs a few steps however many payments the day
 * holds (walking every record cost 0.15 ms at a thousand payments and grows with use).
 *
 * The total follows the ledger's rule (`countsAgainstBudget`) exactly: spent, pending and held
 * payments count for as long as they are in the window, unless the chain showed one unused.
 * Records leave in time order (a heap), whatever order the ledger holds them in (two writers'
 * clocks may disagree), and a clock set back past the point records left rebuilds the window
 * from every record.
 */
import type { PaymentRecord } from './ledger.js'

export const DAY_MS = 24 * 60 * 60 * 1000

/** Statuses that are money gone (or possibly gone): what usage reports as spent. */
export const SPENT_STATUSES: ReadonlySet<PaymentRecord['status']> = new Set(['reserved', 'signed', 'settled', 'unknown'])

/**
 * Statuses of authorizations that left this machine and were not settled as far as we know: the
 * upstream refused them (`refused`), reported the work failed (`failed`), or we stopped polling
 * the job they paid for (`abandoned`). A refusal cannot be verified (the upstream may settle an
 * authorization on-chain and still say "refused"), so each is held against the budget for its
 * whole 24 hours, like money spent.
 */
export const HELD_STATUSES: ReadonlySet<PaymentRecord['status']> = new Set(['refused', 'failed', 'abandoned'])

/**
 * True when `record` counts against the rolling budget at `now`: it was reserved in the last 24
 * hours and is spent, pending or held, unless the chain showed its authorization unused after it
 * expired (EIP-3009 `authorizationState` false: it can never settle now; chain-state.ts).
 */
export function countsAgainstBudget(record: PaymentRecord, now: number): boolean {
  return record.time > now - DAY_MS && weighs(record)
}

/** Whether `record` counts while it is in the window. */
function weighs(record: PaymentRecord): boolean {
  if (record.chain === 'unused') return false
  return SPENT_STATUSES.has(record.status) || HELD_STATUSES.has(record.status)
}

export class BudgetWindow {
  /** Records in ledger order (the order reservations are judged in); some may have left. */
  private records: PaymentRecord[] = []
  private readonly inWindow = new Set<PaymentRecord>()
  /** The records in the window by time, earliest first: whatever the ledger order, the oldest leave first. */
  private readonly expiry = new MinHeap<PaymentRecord>((a, b) => a.time - b.time)
  /** Sum of the amounts of records in the window that count (`weighs`). */
  private spent = 0n
  /** The latest `now - DAY_MS` records were dropped at; a clock set back below it brings them back. */
  private horizon = Number.NEGATIVE_INFINITY

  /** `all` gives every record in ledger order, for the rare rebuild after the clock was set back. */
  constructor(private readonly all: () => Iterable<PaymentRecord>) {}

  /** A new reservation, appended in ledger order. */
  add(record: PaymentRecord): void {
    this.records.push(record)
    if (record.time <= this.horizon) return // already outside the window
    this.inWindow.add(record)
    this.expiry.push(record)
    this.weigh(record, 1n)
  }

  /** Applies `update` (a status change) to `record`, keeping the totals right. */
  update(record: PaymentRecord, update: () => void): void {
    if (!this.inWindow.has(record)) return update()
    this.weigh(record, -1n)
    update()
    this.weigh(record, 1n)
  }

  /**
   * What the records before `id` in ledger order count against the budget at `now`; undefined
   * when `id` is not in the window. The walk is from the end: only records appended after `id`
   * (by other processes, in the moment between writing and reading) are visited.
   */
  usedBefore(id: string, now: number): bigint | undefined {
    if (now - DAY_MS < this.horizon) this.rebuild(now)
    this.leave(now)
    let used = this.spent
    for (let i = this.records.length - 1; i >= 0; i--) {
      const record = this.records[i]!
      if (!this.inWindow.has(record)) {
        if (record.id === id) return undefined
        continue
      }
      if (countsAgainstBudget(record, now)) used -= record.amount
      if (record.id === id) return used
    }
    return undefined
  }

  /** Drops every record whose 24 hours are over, in time order. */
  private leave(now: number): void {
    const horizon = now - DAY_MS
    let left = false
    for (let top = this.expiry.peek(); top && top.time <= horizon; top = this.expiry.peek()) {
      this.expiry.pop()
      this.weigh(top, -1n)
      this.inWindow.delete(top)
      left = true
    }
    if (left) this.horizon = Math.max(this.horizon, horizon)
    // Forget the ledger-order slots of records that left, once they are most of the array.
    if (this.records.length > 1024 && this.inWindow.size * 2 < this.records.length) this.records = this.records.filter((record) => this.inWindow.has(record))
  }

  /** Starts over from every record: the clock went back past a point records were dropped at. */
  private rebuild(now: number): void {
    this.records = []
    this.inWindow.clear()
    this.expiry.clear()
    this.spent = 0n
    this.horizon = Number.NEGATIVE_INFINITY
    const horizon = now - DAY_MS
    for (const record of this.all()) if (record.time > horizon) this.add(record)
  }

  private weigh(record: PaymentRecord, sign: 1n | -1n): void {
    if (weighs(record)) this.spent += sign * record.amount
  }
}

/** A binary min-heap; `compare` is negative when its first argument comes first. */
class MinHeap<T> {
  private items: T[] = []

  constructor(private readonly compare: (a: T, b: T) => number) {}

  peek(): T | undefined {
    return this.items[0]
  }

  clear(): void {
    this.items = []
  }

  push(item: T): void {
    const items = this.items
    items.push(item)
    for (let i = items.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1
      if (this.compare(items[i]!, items[parent]!) >= 0) break
      ;[items[i], items[parent]] = [items[parent]!, items[i]!]
      i = parent
    }
  }

  pop(): T | undefined {
    const items = this.items
    const top = items[0]
    const last = items.pop()
    if (items.length === 0 || last === undefined) return top
    items[0] = last
    for (let i = 0; ; ) {
      const left = 2 * i + 1
      const right = left + 1
      let smallest = i
      if (left < items.length && this.compare(items[left]!, items[smallest]!) < 0) smallest = left
      if (right < items.length && this.compare(items[right]!, items[smallest]!) < 0) smallest = right
      if (smallest === i) break
      ;[items[i], items[smallest]] = [items[smallest]!, items[i]!]
      i = smallest
    }
    return top
  }
}
