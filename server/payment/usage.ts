/**
 * Spend per day and per model, from the ledger, as a pure function of its records.
 *
 * Settled and unconfirmed payments (signed or sent with the answer lost) count as spent: an
 * unconfirmed one may have settled, and the user should see the worst case. Refused, released and
 * declined (over the budget, never signed) payments are not spent. The remaining budget uses the
 * ledger's own rule (`budgetUsed`), so what this report says is left is exactly what the next
 * reservation will find.
 *
 * Days are UTC calendar days (YYYY-MM-DD), the same in every time zone.
 */
import { formatUsd } from '../money.js'
import { budgetUsed, DAY_MS, SPENT_STATUSES, type PaymentRecord } from './ledger.js'

export type UsageReport = {
  days: number
  /** Spent over `days`, base units and dollars. */
  total: string
  totalUsd: string
  payments: number
  images: number
  /** Of `payments`, those whose settlement was not confirmed. */
  unconfirmed: number
  /** Refused by the upstream (not spent). */
  refused: number
  /** Requests the daily budget declined before anything was signed. */
  declined: number
  byDay: Array<{ day: string; amount: string; usd: string; payments: number; images: number }>
  byModel: Array<{ model: string; amount: string; usd: string; payments: number; images: number }>
  budget: {
    daily: string
    dailyUsd: string
    /** What the budget counts right now: spent or pending in the last 24 h, plus still-valid refused authorizations. */
    spentLast24h: string
    spentLast24hUsd: string
    remaining: string
    remainingUsd: string
  }
}

type Tally = { amount: bigint; payments: number; images: number }

export function summariseUsage(records: readonly PaymentRecord[], options: { days: number; dailyBudget: bigint; now?: number }): UsageReport {
  const now = options.now ?? Date.now()
  const since = now - options.days * DAY_MS
  const inWindow = records.filter((r) => r.time > since && r.time <= now)
  const counted = inWindow.filter((r) => SPENT_STATUSES.has(r.status))
  const byDay = new Map<string, Tally>()
  const byModel = new Map<string, Tally>()
  const total: Tally = { amount: 0n, payments: 0, images: 0 }
  for (const record of counted) {
    add(total, record)
    add(tally(byDay, new Date(record.time).toISOString().slice(0, 10)), record)
    add(tally(byModel, record.model), record)
  }
  const used = budgetUsed(records, now)
  const remaining = options.dailyBudget > used ? options.dailyBudget - used : 0n
  return {
    days: options.days,
    total: total.amount.toString(),
    totalUsd: formatUsd(total.amount),
    payments: total.payments,
    images: total.images,
    unconfirmed: counted.filter((r) => r.status !== 'settled').length,
    refused: inWindow.filter((r) => r.status === 'refused').length,
    declined: inWindow.filter((r) => r.status === 'declined').length,
    byDay: [...byDay].sort(([a], [b]) => a.localeCompare(b)).map(([day, t]) => ({ day, ...figures(t) })),
    byModel: [...byModel]
      .sort(([ma, a], [mb, b]) => (a.amount === b.amount ? ma.localeCompare(mb) : b.amount > a.amount ? 1 : -1))
      .map(([model, t]) => ({ model, ...figures(t) })),
    budget: {
      daily: options.dailyBudget.toString(),
      dailyUsd: formatUsd(options.dailyBudget),
      spentLast24h: used.toString(),
      spentLast24hUsd: formatUsd(used),
      remaining: remaining.toString(),
      remainingUsd: formatUsd(remaining),
    },
  }
}

function tally(map: Map<string, Tally>, key: string): Tally {
  let entry = map.get(key)
  if (!entry) map.set(key, (entry = { amount: 0n, payments: 0, images: 0 }))
  return entry
}

function add(into: Tally, record: PaymentRecord): void {
  into.amount += record.amount
  into.payments++
  into.images += record.n
}

function figures(t: Tally) {
  return { amount: t.amount.toString(), usd: formatUsd(t.amount), payments: t.payments, images: t.images }
}
