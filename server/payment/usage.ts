/**
 * Spend per day and per model, from the ledger. Settled and unconfirmed payments count as spent
 * (an unconfirmed one may have settled); refused and released ones do not.
 */
import { formatUsd } from '../money.js'
import type { PaymentRecord } from './ledger.js'

export type UsageReport = {
  days: number
  totalUsd: string
  total: string
  payments: number
  unconfirmed: number
  byDay: Array<{ day: string; usd: string; amount: string; payments: number }>
  byModel: Array<{ model: string; usd: string; amount: string; payments: number; images: number }>
  budget: { dailyUsd: string; spentLast24hUsd: string; remainingUsd: string }
}

const SPENT = new Set(['settled', 'unknown', 'signed', 'reserved'])

export function summariseUsage(records: readonly PaymentRecord[], options: { days: number; dailyBudget: bigint; now?: number }): UsageReport {
  const now = options.now ?? Date.now()
  const since = now - options.days * 86_400_000
  const counted = records.filter((r) => SPENT.has(r.status) && r.time >= since)
  const byDay = new Map<string, { amount: bigint; payments: number }>()
  const byModel = new Map<string, { amount: bigint; payments: number; images: number }>()
  let total = 0n
  for (const record of counted) {
    total += record.amount
    const day = new Date(record.time).toISOString().slice(0, 10)
    const d = byDay.get(day) ?? { amount: 0n, payments: 0 }
    d.amount += record.amount
    d.payments++
    byDay.set(day, d)
    const m = byModel.get(record.model) ?? { amount: 0n, payments: 0, images: 0 }
    m.amount += record.amount
    m.payments++
    m.images += record.n
    byModel.set(record.model, m)
  }
  const last24h = records.filter((r) => SPENT.has(r.status) && r.time > now - 86_400_000).reduce((sum, r) => sum + r.amount, 0n)
  const remaining = options.dailyBudget > last24h ? options.dailyBudget - last24h : 0n
  return {
    days: options.days,
    totalUsd: formatUsd(total),
    total: total.toString(),
    payments: counted.length,
    unconfirmed: counted.filter((r) => r.status !== 'settled').length,
    byDay: [...byDay].sort(([a], [b]) => a.localeCompare(b)).map(([day, v]) => ({ day, usd: formatUsd(v.amount), amount: v.amount.toString(), payments: v.payments })),
    byModel: [...byModel].sort(([, a], [, b]) => (b.amount > a.amount ? 1 : -1)).map(([model, v]) => ({ model, usd: formatUsd(v.amount), amount: v.amount.toString(), payments: v.payments, images: v.images })),
    budget: { dailyUsd: formatUsd(options.dailyBudget), spentLast24hUsd: formatUsd(last24h), remainingUsd: formatUsd(remaining) },
  }
}
