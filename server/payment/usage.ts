/**
 * Spend per day and per model, from the ledger, as a pure function of its records.
 *
 * Settled and unconfirmed payments (signed or sent with the answer lost) count as spent: an
 * unconfirmed one may have settled, and the user should see the worst case. Refused, failed and
 * abandoned authorizations are not spent but are held against the budget (the upstream could
 * still settle them) until the chain shows them unused; released and declined (over the budget,
 * never signed) payments are neither. The budget figures use the ledger's own rule
 * (`countsAgainstBudget`), so what this report says is left is exactly what the next reservation
 * will find, and `used = spent + held` explains it.
 *
 * Days are UTC calendar days (YYYY-MM-DD), the same in every time zone.
 */
import { formatUsd } from '../money.js'
import { countsAgainstBudget, DAY_MS, HELD_STATUSES, SPENT_STATUSES, type PaymentRecord } from './ledger.js'

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
  /** Authorizations held against the budget although not spent: refused, failed, abandoned. */
  held: number
  /** Requests the daily budget declined before anything was signed. */
  declined: number
  byDay: Array<{ day: string; amount: string; usd: string; payments: number; images: number }>
  byModel: Array<{ model: string; amount: string; usd: string; payments: number; images: number }>
  /** Spent per network (CAIP-2), e.g. Base and Solana: one budget covers them all. */
  byNetwork: Array<{ network: string; amount: string; usd: string; payments: number; images: number }>
  budget: {
    daily: string
    dailyUsd: string
    /** What the budget counts right now: `spentLast24h + heldLast24h`. */
    usedLast24h: string
    usedLast24hUsd: string
    /** Settled, possibly settled or pending, in the last 24 h. */
    spentLast24h: string
    spentLast24hUsd: string
    /** Signed authorizations the upstream did not settle (refused, failed, abandoned), until the chain shows them unused. */
    heldLast24h: string
    heldLast24hUsd: string
    remaining: string
    remainingUsd: string
  }
}

type Tally = { amount: bigint; payments: number; images: number }

export function summariseUsage(records: readonly PaymentRecord[], options: { days: number; dailyBudget: bigint; now?: number }): UsageReport {
  const now = options.now ?? Date.now()
  const since = now - options.days * DAY_MS
  const inWindow = records.filter((r) => r.time > since && r.time <= now)
  const counted = inWindow.filter((r) => SPENT_STATUSES.has(r.status) && r.chain !== 'unused')
  const byDay = new Map<string, Tally>()
  const byModel = new Map<string, Tally>()
  const byNetwork = new Map<string, Tally>()
  const total: Tally = { amount: 0n, payments: 0, images: 0 }
  for (const record of counted) {
    add(total, record)
    add(tally(byDay, new Date(record.time).toISOString().slice(0, 10)), record)
    add(tally(byModel, record.model), record)
    add(tally(byNetwork, record.network), record)
  }
  let spent = 0n
  let held = 0n
  for (const record of records) {
    if (!countsAgainstBudget(record, now)) continue
    if (HELD_STATUSES.has(record.status)) held += record.amount
    else spent += record.amount
  }
  const used = spent + held
  const remaining = options.dailyBudget > used ? options.dailyBudget - used : 0n
  return {
    days: options.days,
    total: total.amount.toString(),
    totalUsd: formatUsd(total.amount),
    payments: total.payments,
    images: total.images,
    unconfirmed: counted.filter((r) => r.status !== 'settled').length,
    refused: inWindow.filter((r) => r.status === 'refused').length,
    held: inWindow.filter((r) => HELD_STATUSES.has(r.status) && r.chain !== 'unused').length,
    declined: inWindow.filter((r) => r.status === 'declined').length,
    byDay: [...byDay].sort(([a], [b]) => a.localeCompare(b)).map(([day, t]) => ({ day, ...figures(t) })),
    byModel: [...byModel]
      .sort(([ma, a], [mb, b]) => (a.amount === b.amount ? ma.localeCompare(mb) : b.amount > a.amount ? 1 : -1))
      .map(([model, t]) => ({ model, ...figures(t) })),
    byNetwork: [...byNetwork].sort(([a], [b]) => a.localeCompare(b)).map(([network, t]) => ({ network, ...figures(t) })),
    budget: {
      daily: options.dailyBudget.toString(),
      dailyUsd: formatUsd(options.dailyBudget),
      usedLast24h: used.toString(),
      usedLast24hUsd: formatUsd(used),
      spentLast24h: spent.toString(),
      spentLast24hUsd: formatUsd(spent),
      heldLast24h: held.toString(),
      heldLast24hUsd: formatUsd(held),
      remaining: remaining.toString(),
      remainingUsd: formatUsd(remaining),
    },
  }
}

/** The budget in one line for people: what is used, of what, split into spent and held, and what is left. */
export function describeBudget(budget: UsageReport['budget']): string {
  const held = budget.heldLast24h !== '0' ? ` (${budget.spentLast24hUsd} spent, ${budget.heldLast24hUsd} held by authorizations the upstream did not settle, until the chain shows them unused)` : ''
  return `Budget: ${budget.usedLast24hUsd} of ${budget.dailyUsd} used in the last 24 h${held}, ${budget.remainingUsd} left`
}

/**
 * Why the budget counts more than was spent, when it does: authorizations that were signed and not
 * settled. Said in words because "$0.00 spent" beside "$0.05 used" looks like a bug otherwise.
 */
export function describeHeld(report: Pick<UsageReport, 'budget' | 'refused' | 'held'>): string | undefined {
  if (report.budget.heldLast24h === '0') return undefined
  const count = report.held ? `${report.held} authorization(s)` : 'authorizations'
  return (
    `Used is more than spent: ${report.budget.heldLast24hUsd} is held by ${count} signed but not settled (refused by the upstream, failed or abandoned). ` +
    'Nothing was paid for them, but a signed authorization could still be settled until it expires, so each counts against the 24-hour budget until the chain shows it unused or 24 hours pass.'
  )
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
