/**
 * The spending limits a proxy of ours pays under, as its identity answer states them, and how they
 * compare with a front door's own. A front door started with its own limits (`imagegen generate
 * --max-per-request 0.10`, an MCP server entry with `BLOCKRUN_DAILY_BUDGET=1.00`) must not have
 * them silently replaced by those of a proxy started with others: it uses the proxy only when the
 * limits are the same, and otherwise runs the pipeline itself, with its own limits, over the same
 * wallet and ledger (server/core/index.ts).
 */
import type { SpendPolicy } from '../config.js'
import { formatUsd } from '../money.js'

/** A SpendPolicy in JSON: amounts in base units as text, networks as CAIP-2 ids. */
export type LimitsClaim = {
  max_per_request: string
  daily_budget: string
  confirm_above: string | null
  networks: string[]
  payees: string[] | null
  max_timeout_seconds: number
}

export function limitsClaim(policy: SpendPolicy): LimitsClaim {
  return {
    max_per_request: policy.maxPerRequest.toString(),
    daily_budget: policy.dailyBudget.toString(),
    confirm_above: policy.confirmAbove === undefined ? null : policy.confirmAbove.toString(),
    networks: policy.networks.map((network) => network.caip2),
    payees: policy.payees === null ? null : [...policy.payees],
    max_timeout_seconds: policy.maxTimeoutSeconds,
  }
}

/**
 * Each limit where the proxy's claim differs from ours, in words ("per request $0.01 here, $0.50
 * there"); empty when they are the same. A claim that states no limits (or unreadable ones) is one
 * difference: nothing shows that proxy pays under ours.
 */
export function limitDifferences(ours: SpendPolicy, theirs: unknown): string[] {
  const mine = limitsClaim(ours)
  if (!isLimitsClaim(theirs)) return ['it does not state its spending limits']
  const usd = (amount: string | null) => (amount === null ? 'unset' : formatUsd(BigInt(amount)))
  const list = (items: string[] | null) => (items === null ? 'any' : [...items].sort().join(',') || 'none')
  const differences: string[] = []
  const compare = (name: string, here: string, there: string) => void (here !== there && differences.push(`${name} ${here} here, ${there} there`))
  compare('max per request', usd(mine.max_per_request), usd(theirs.max_per_request))
  compare('daily budget', usd(mine.daily_budget), usd(theirs.daily_budget))
  compare('confirm above', usd(mine.confirm_above), usd(theirs.confirm_above))
  compare('networks', list(mine.networks), list(theirs.networks))
  compare('payees', list(mine.payees?.map((p) => p.toLowerCase()) ?? null), list(theirs.payees?.map((p) => p.toLowerCase()) ?? null))
  compare('max timeout seconds', String(mine.max_timeout_seconds), String(theirs.max_timeout_seconds))
  return differences
}

function isLimitsClaim(value: unknown): value is LimitsClaim {
  const claim = value as Partial<LimitsClaim> | null | undefined
  const amount = (text: unknown) => typeof text === 'string' && /^\d{1,30}$/.test(text)
  const strings = (items: unknown) => Array.isArray(items) && items.every((item) => typeof item === 'string')
  return (
    typeof claim === 'object' &&
    claim !== null &&
    amount(claim.max_per_request) &&
    amount(claim.daily_budget) &&
    (claim.confirm_above === null || amount(claim.confirm_above)) &&
    strings(claim.networks) &&
    (claim.payees === null || strings(claim.payees)) &&
    Number.isInteger(claim.max_timeout_seconds)
  )
}
