/**
 * Estimates of what the gateway will ask, in USDC base units: list price of the size tier × n ×
 * 1.05 (its margin) + a flat $0.001 fee per paid call (Franklin `src/gateway-models.ts`,
 * REFERENCE §1). The estimate is for the policy message and for display; what is paid is what the
 * 402 asks, checked against the spend policy.
 */
import { formatUsd } from '../money.js'
import type { ModelEntry } from './model.js'

/** The gateway's margin, in percent of the list price. */
export const GATEWAY_MARGIN_PERCENT = 105n
/** The gateway's flat fee per paid call ($0.001), base units. */
export const GATEWAY_FEE = 1000n

export type Estimate = {
  /** The whole request, fee included. */
  amount: bigint
  /** One image, margin included, fee excluded. */
  perImage: bigint
  fee: bigint
  /** Which price decided it: the bundled size tier or the live catalog's (the higher wins). */
  basis: 'bundled' | 'live'
}

/**
 * The list price of one image at `size`: the model's tier for that size; for a size only the live
 * catalog lists, the model's dearest tier (an estimate should not undercount). Undefined when no
 * table prices the model.
 */
export function listPrice(model: Pick<ModelEntry, 'prices'>, size: string): bigint | undefined {
  const exact = model.prices[size]
  if (exact !== undefined) return exact
  const all = Object.values(model.prices)
  return all.length ? all.reduce((a, b) => (a > b ? a : b)) : undefined
}

/** `amount × 1.05`, rounded up to a whole base unit. */
export function withMargin(amount: bigint): bigint {
  return ceilDiv(amount * GATEWAY_MARGIN_PERCENT, 100n)
}

/**
 * What `n` images at `size` should cost: the higher of the bundled tier and the live catalog's
 * price (the live price is size-blind, the tiers are not), plus the fee. Undefined when neither
 * source prices the model.
 */
export function estimate(model: Pick<ModelEntry, 'prices' | 'live'>, size: string, n: number): Estimate | undefined {
  const count = BigInt(n)
  const list = listPrice(model, size)
  const bundled = list === undefined ? undefined : withMargin(list * count)
  const live = model.live ? (model.live.marginIncluded ? model.live.perImage * count : withMargin(model.live.perImage * count)) : undefined
  if (bundled === undefined && live === undefined) return undefined
  const fee = model.live?.fee ?? GATEWAY_FEE
  const useLive = live !== undefined && (bundled === undefined || live > bundled)
  const images = useLive ? live : bundled!
  const perImage = useLive ? ceilDiv(live, count) : withMargin(list!)
  return { amount: images + fee, perImage, fee, basis: useLive ? 'live' : 'bundled' }
}

/** "$0.0535 ($0.0525 + $0.001 fee)", or "$0.127 (2 × $0.063 + $0.001 fee)". */
export function describeEstimate(estimate: Estimate, n: number): string {
  return `${formatUsd(estimate.amount)} (${n > 1 ? `${n} × ` : ''}${formatUsd(estimate.perImage)} + ${formatUsd(estimate.fee)} fee)`
}

function ceilDiv(a: bigint, b: bigint): bigint {
  return (a + b - 1n) / b
}
