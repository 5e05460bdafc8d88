/**
 * A quote: what a generation or edit would cost, asked of the gateway itself (its 402 to an unpaid
 * request, or fresh requirements it gave before), with what the user's limits make of it, and
 * nothing signed. The price is exactly what the paid call would be asked, so an agent can tell the
 * user and then pay with `max_price` set to it.
 *
 * `quoteJson` and `quoteFromJson` carry it over HTTP (`POST /v1/images/quote`, the remote core);
 * `describeQuote` says it in words (tools, CLI).
 */
import type { PaymentRequired } from '@x402/core/types'
import type { SpendPolicy } from './config.js'
import { formatUsd } from './money.js'
import { needsConsent } from './payment/ceilings.js'
import { priceOf, type PriceQuote } from './payment/quote.js'
import type { ResolvedJob } from './resolve.js'

export type Quote = PriceQuote & {
  kind: 'generate' | 'edit'
  model: string
  requestedModel: string
  size: string
  n: number
  /** Where the price came from: the gateway's 402 now, its requirements from minutes ago, or no payment asked at all. */
  source: 'upstream' | 'cached' | 'free'
  /** The catalog's estimate, for comparison. */
  estimate: bigint | undefined
  /** Whether the call would be paid as it stands: the policy allows it and it fits the budget left. */
  allowed: boolean
  budget: { daily: bigint; used: bigint; remaining: bigint; fits: boolean }
  /** The threshold above which the user must consent (undefined: never asked), and whether this price is above it. */
  confirmation: { above: bigint | undefined; needed: boolean }
  notes: string[]
}

export type QuoteParameters = {
  kind: Quote['kind']
  job: Pick<ResolvedJob, 'model' | 'requestedModel' | 'size' | 'n' | 'estimate' | 'notes'>
  /** The gateway's requirements (and whether remembered ones), or no payment asked at all. */
  priced: { required: PaymentRequired; cached: boolean } | { free: true }
  policy: SpendPolicy
  /** What the 24-hour budget counts now (the ledger's). */
  used: bigint
  /** The body's max_price, when it has one: a price above it would be refused. */
  maxPrice?: bigint | undefined
}

/** The quote, from the gateway's requirements, the policy and the budget used. Pure. */
export function assembleQuote({ kind, job, priced, policy, used, maxPrice }: QuoteParameters): Quote {
  const price: PriceQuote = 'free' in priced
    ? { amount: 0n, network: undefined, networkLabel: undefined, chain: undefined, asset: undefined, payTo: undefined, maxTimeoutSeconds: undefined, policy: { allowed: true } }
    : priceOf(priced.required, policy)
  const remaining = policy.dailyBudget > used ? policy.dailyBudget - used : 0n
  const amount = price.amount ?? 0n
  const fits = amount <= remaining
  const underMax = maxPrice === undefined || amount <= maxPrice
  const notes = underMax ? job.notes : [...job.notes, `The price is above the max_price of ${formatUsd(maxPrice!)} given: that call would be refused before signing.`]
  return {
    kind,
    model: job.model.id,
    requestedModel: job.requestedModel,
    size: job.size,
    n: job.n,
    ...price,
    source: 'free' in priced ? 'free' : priced.cached ? 'cached' : 'upstream',
    estimate: job.estimate?.amount,
    allowed: price.policy.allowed && price.amount !== undefined && fits && underMax,
    budget: { daily: policy.dailyBudget, used, remaining, fits },
    confirmation: { above: policy.confirmAbove, needed: needsConsent(amount, policy.confirmAbove) },
    notes,
  }
}

export type QuoteJson = {
  object: 'quote'
  kind: Quote['kind']
  model: string
  requested_model: string
  size: string
  n: number
  amount: string | null
  usd: string | null
  chain: string | null
  network: string | null
  network_label: string | null
  asset: string | null
  pay_to: string | null
  max_timeout_seconds: number | null
  source: Quote['source']
  estimate: null | { amount: string; usd: string }
  allowed: boolean
  policy: { allowed: boolean; code?: string; message?: string }
  budget: { daily: string; daily_usd: string; used: string; remaining: string; remaining_usd: string; fits: boolean }
  confirmation: { above: string | null; above_usd: string | null; needed: boolean }
  notes: string[]
  signed: false
}

export function quoteJson(quote: Quote): QuoteJson {
  const money = (amount: bigint | undefined) => (amount === undefined ? null : amount.toString())
  return {
    object: 'quote',
    kind: quote.kind,
    model: quote.model,
    requested_model: quote.requestedModel,
    size: quote.size,
    n: quote.n,
    amount: money(quote.amount),
    usd: quote.amount === undefined ? null : formatUsd(quote.amount),
    chain: quote.chain ?? null,
    network: quote.network ?? null,
    network_label: quote.networkLabel ?? null,
    asset: quote.asset ?? null,
    pay_to: quote.payTo ?? null,
    max_timeout_seconds: quote.maxTimeoutSeconds ?? null,
    source: quote.source,
    estimate: quote.estimate === undefined ? null : { amount: quote.estimate.toString(), usd: formatUsd(quote.estimate) },
    allowed: quote.allowed,
    policy: quote.policy.allowed ? { allowed: true } : { ...quote.policy },
    budget: {
      daily: quote.budget.daily.toString(),
      daily_usd: formatUsd(quote.budget.daily),
      used: quote.budget.used.toString(),
      remaining: quote.budget.remaining.toString(),
      remaining_usd: formatUsd(quote.budget.remaining),
      fits: quote.budget.fits,
    },
    confirmation: { above: money(quote.confirmation.above), above_usd: quote.confirmation.above === undefined ? null : formatUsd(quote.confirmation.above), needed: quote.confirmation.needed },
    notes: quote.notes,
    signed: false,
  }
}

export function quoteFromJson(json: QuoteJson): Quote {
  const big = (text: string | null | undefined) => (typeof text === 'string' && /^\d+$/.test(text) ? BigInt(text) : undefined)
  return {
    kind: json.kind,
    model: json.model,
    requestedModel: json.requested_model,
    size: json.size,
    n: json.n,
    amount: big(json.amount),
    network: json.network ?? undefined,
    networkLabel: json.network_label ?? undefined,
    chain: json.chain === 'base' || json.chain === 'solana' ? json.chain : undefined,
    asset: json.asset ?? undefined,
    payTo: json.pay_to ?? undefined,
    maxTimeoutSeconds: json.max_timeout_seconds ?? undefined,
    source: json.source,
    estimate: big(json.estimate?.amount),
    allowed: json.allowed,
    policy: json.policy.allowed ? { allowed: true } : { allowed: false, code: json.policy.code ?? 'payment_not_allowed', message: json.policy.message ?? '' },
    budget: { daily: big(json.budget.daily) ?? 0n, used: big(json.budget.used) ?? 0n, remaining: big(json.budget.remaining) ?? 0n, fits: json.budget.fits },
    confirmation: { above: big(json.confirmation.above), needed: json.confirmation.needed },
    notes: json.notes ?? [],
  }
}

/** The quote in words, for agents and people. */
export function describeQuote(quote: Quote): string {
  const what = `${quote.n} image${quote.n === 1 ? '' : 's'} from ${quote.model} at ${quote.size}${quote.kind === 'edit' ? ' (an edit)' : ''}`
  if (quote.source === 'free') return `${what}: the gateway asked no payment for it. Nothing was signed.`
  if (quote.amount === undefined) return `${what}: the gateway's price could not be read. ${quote.policy.allowed ? '' : quote.policy.message}`
  const lines = [
    `Price: ${formatUsd(quote.amount)} USDC for ${what}, on ${quote.networkLabel ?? quote.network} to ${quote.payTo} (the gateway's own ${quote.source === 'cached' ? 'price, from its requirements of the last minutes' : 'price, from its 402 just now'}). Nothing was signed.`,
  ]
  if (!quote.policy.allowed) lines.push(`Your limits would refuse it: ${quote.policy.message}`)
  lines.push(
    `Budget left in the last 24 hours: ${formatUsd(quote.budget.remaining)} of ${formatUsd(quote.budget.daily)}${quote.budget.fits ? '.' : `, which does not cover it: it would be refused (raise BLOCKRUN_DAILY_BUDGET, or wait).`}`,
  )
  if (quote.confirmation.needed) lines.push(`It is above ${formatUsd(quote.confirmation.above!)}, so the user must confirm it before it is paid.`)
  if (quote.allowed) lines.push(`To pay exactly this, tell the user the price, then call with max_price "${formatUsd(quote.amount).slice(1)}".`)
  for (const note of quote.notes) lines.push(`Note: ${note}`)
  return lines.join('\n')
}
