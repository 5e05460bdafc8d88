/**
 * The two per-call limits that sit beside the spend policy, checked on the option the policy chose,
 * before the budget is reserved and before anything is signed:
 *
 * - `max_price`: a ceiling the caller (usually the agent) sets on one call, typically the quote it
 *   told the user. A guard against a price that moved, not the user's consent.
 * - the confirmation threshold (`BLOCKRUN_CONFIRM_ABOVE`): above it, a payment needs the user's
 *   consent, which only a front door that can ask the user (MCP elicitation, a terminal prompt)
 *   gives, as `consented`: the most the user agreed to pay for this call. An agent cannot give it.
 *
 * Both refusals are 402s that name the price asked, so the caller can tell the user.
 */
import { ImagegenError } from '../errors.js'
import { formatUsd } from '../money.js'
import type { PaymentOption } from './policy.js'

export type CallCeilings = {
  /** The caller's ceiling for this call, base units (`max_price`). */
  maxPrice?: bigint | undefined
  /** What the user agreed to pay for this call, base units, when a front door asked them. */
  consented?: bigint | undefined
}

/** How the user changes the threshold: env, CLI flag, plugin setting. */
export const CONFIRM_SETTING = 'BLOCKRUN_CONFIRM_ABOVE (or --confirm-above, or the plugin setting confirmAbove)'

/** Throws when the option breaks the caller's ceiling or needs a consent the call does not carry. */
export function checkCeilings(option: Pick<PaymentOption, 'amount' | 'network'>, ceilings: CallCeilings, confirmAbove: bigint | undefined): void {
  const { amount } = option
  if (ceilings.maxPrice !== undefined && amount > ceilings.maxPrice) throw maxPriceExceeded(amount, ceilings.maxPrice)
  if (needsConsent(amount, confirmAbove) && !(ceilings.consented !== undefined && amount <= ceilings.consented)) throw confirmationRequired(amount, confirmAbove!)
}

/** True when a payment of `amount` needs the user's consent under the threshold. */
export function needsConsent(amount: bigint, confirmAbove: bigint | undefined): boolean {
  return confirmAbove !== undefined && amount > confirmAbove
}

export function maxPriceExceeded(amount: bigint, maxPrice: bigint): ImagegenError {
  return new ImagegenError({
    status: 402,
    type: 'spend_limit_exceeded',
    code: 'max_price_exceeded',
    param: 'max_price',
    message:
      `The upstream asks ${formatUsd(amount)} for this request, over the max_price of ${formatUsd(maxPrice)} set for this call. Nothing was signed. ` +
      `Tell the user the price (${formatUsd(amount)}); if they accept it, call again with max_price "${formatUsd(amount).slice(1)}".`,
  })
}

export function confirmationRequired(amount: bigint, confirmAbove: bigint): ImagegenError {
  return new ImagegenError({
    status: 402,
    type: 'spend_limit_exceeded',
    code: 'confirmation_required',
    param: 'confirmAbove',
    message:
      `This request costs ${formatUsd(amount)}, above ${formatUsd(confirmAbove)}, the price over which the user must confirm a payment. Nothing was signed, and the user was not asked: ` +
      'this client cannot ask them (an MCP client that supports elicitation, or `imagegen generate` in a terminal, asks). ' +
      `Tell the user the price; to allow such payments without being asked, they raise ${CONFIRM_SETTING}. An agent cannot confirm for the user.`,
  })
}

export function confirmationDeclined(amount: bigint): ImagegenError {
  return new ImagegenError({
    status: 402,
    type: 'spend_limit_exceeded',
    code: 'confirmation_declined',
    message: `The user declined to pay ${formatUsd(amount)} for this request. Nothing was signed. Do not ask again unless the user asks for it.`,
  })
}
