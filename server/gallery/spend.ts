/**
 * The gallery's spend view, from the ledger as a pure function of its records: what was spent on
 * each calendar day of the last `days` (in the viewer's time zone), per model, against the daily
 * budget; and, beside it, the rolling 24-hour window the budget actually counts, with the
 * authorizations it holds apart from what was spent.
 *
 * Spent and held follow the ledger's rules (server/payment/usage.ts): settled, pending and unknown
 * payments are spent; refused, failed and abandoned authorizations are held, not spent, and weigh
 * on the budget until the chain shows them unused or they leave the window. The window's figures
 * are usage.ts's own, so this page and `imagegen usage` can never disagree.
 */
import { formatUsd } from '../money.js'
import { countsAgainstBudget, DAY_MS, HELD_STATUSES, SPENT_STATUSES, type PaymentRecord } from '../payment/ledger.js'
import { findNetwork } from '../payment/networks.js'
import { summariseUsage, type UsageReport } from '../payment/usage.js'
import { dayKey, daysEndingWith, type DayKey } from './days.js'

type Money = { amount: string; usd: string }

export type SpendView = {
  days: number
  tz: string
  /** The last day shown (today in `tz`). */
  today: DayKey
  now: string
  daily_budget: Money
  /** One entry per calendar day, oldest first, empty days included. */
  calendar: Array<{ day: DayKey; spent: Money; held: Money; images: number; payments: number; by_model: Array<{ model: string; amount: string; usd: string }> }>
  /** Over the calendar days shown, most spent first. */
  models: Array<{ model: string; spent: Money; images: number; payments: number }>
  networks: Array<{ network: string; label: string; testnet: boolean; spent: Money; payments: number }>
  total: Money & { images: number; payments: number }
  /** The rolling 24 hours the budget counts, as usage.ts reports it, and what it holds. */
  window: {
    from: string
    to: string
    budget: UsageReport['budget']
    /** Authorizations signed and not settled that still count: refused, failed or abandoned. */
    held: Array<{ id: string; model: string; amount: string; usd: string; status: string; reason: string | null; signed: string; counts_until: string }>
    /** Payments in the window whose settlement was not confirmed (counted as spent). */
    unconfirmed: number
  }
}

const money = (amount: bigint): Money => ({ amount: amount.toString(), usd: formatUsd(amount) })

export function spendView(records: readonly PaymentRecord[], { days, tz, dailyBudget, now = Date.now() }: { days: number; tz: string; dailyBudget: bigint; now?: number }): SpendView {
  const today = dayKey(tz, now)
  const calendarDays = daysEndingWith(today, days)
  const first = calendarDays[0]!
  const byDay = new Map(calendarDays.map((day) => [day, { spent: 0n, held: 0n, images: 0, payments: 0, models: new Map<string, bigint>() }]))
  const models = new Map<string, { spent: bigint; images: number; payments: number }>()
  const networks = new Map<string, { spent: bigint; payments: number }>()
  const total = { spent: 0n, images: 0, payments: 0 }
  for (const record of records) {
    // A day's key is enough to know it is in range: keys sort as dates.
    if (record.time > now || record.time < now - (days + 1) * DAY_MS) continue
    const day = dayKey(tz, record.time)
    const bucket = day >= first ? byDay.get(day) : undefined
    if (!bucket || record.chain === 'unused') continue
    if (SPENT_STATUSES.has(record.status)) {
      bucket.spent += record.amount
      bucket.images += record.n
      bucket.payments++
      bucket.models.set(record.model, (bucket.models.get(record.model) ?? 0n) + record.amount)
      const model = models.get(record.model) ?? { spent: 0n, images: 0, payments: 0 }
      model.spent += record.amount
      model.images += record.n
      model.payments++
      models.set(record.model, model)
      const network = networks.get(record.network) ?? { spent: 0n, payments: 0 }
      network.spent += record.amount
      network.payments++
      networks.set(record.network, network)
      total.spent += record.amount
      total.images += record.n
      total.payments++
    } else if (HELD_STATUSES.has(record.status)) bucket.held += record.amount
  }
  const window = summariseUsage(records, { days: 1, dailyBudget, now })
  const held = records
    .filter((record) => HELD_STATUSES.has(record.status) && countsAgainstBudget(record, now))
    .sort((a, b) => b.time - a.time)
    .map((record) => ({
      id: record.id,
      model: record.model,
      ...money(record.amount),
      status: record.status,
      reason: record.reason ?? null,
      signed: new Date(record.time).toISOString(),
      counts_until: new Date(record.time + DAY_MS).toISOString(),
    }))
  return {
    days,
    tz,
    today,
    now: new Date(now).toISOString(),
    daily_budget: money(dailyBudget),
    calendar: [...byDay].map(([day, b]) => ({
      day,
      spent: money(b.spent),
      held: money(b.held),
      images: b.images,
      payments: b.payments,
      by_model: [...b.models].sort(([a], [c]) => a.localeCompare(c)).map(([model, amount]) => ({ model, ...money(amount) })),
    })),
    models: [...models].sort(([ma, a], [mb, b]) => (a.spent === b.spent ? ma.localeCompare(mb) : b.spent > a.spent ? 1 : -1)).map(([model, m]) => ({ model, spent: money(m.spent), images: m.images, payments: m.payments })),
    networks: [...networks].sort(([a], [b]) => a.localeCompare(b)).map(([network, n]) => ({ network, label: findNetwork(network)?.label ?? network, testnet: findNetwork(network)?.testnet ?? false, spent: money(n.spent), payments: n.payments })),
    total: { ...money(total.spent), images: total.images, payments: total.payments },
    window: { from: new Date(now - DAY_MS).toISOString(), to: new Date(now).toISOString(), budget: window.budget, held, unconfirmed: window.unconfirmed },
  }
}
