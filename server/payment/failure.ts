/**
 * Turns the many ways an upstream says "your payment did not go through" (x402 v1 bodies, v2
 * `PAYMENT-REQUIRED` errors, BlockRun's `{"error","details"}` bodies) into one error a user can act
 * on: what went wrong, which wallet, and how to fund it.
 */
import { ImagegenError } from '../errors.js'

const FUNDS_PATTERN = /insufficient[_ ](funds|balance)|exceeds balance|transfer amount exceeds/i

export type PaymentFailureParameters = {
  /** The reason the upstream gave, as text (error field, details, errorReason). */
  reasons: readonly (string | undefined)[]
  wallet: string
  /** Formatted balance, when known. */
  balance?: string | undefined
  networkLabel: string
}

/** Pulls every human-readable reason out of a failure body. */
export function reasonsFromBody(body: unknown): string[] {
  if (!body || typeof body !== 'object') return typeof body === 'string' && body ? [body.slice(0, 500)] : []
  const record = body as Record<string, unknown>
  const reasons: string[] = []
  for (const key of ['error', 'details', 'errorReason', 'invalidReason', 'message', 'reason']) {
    const value = record[key]
    if (typeof value === 'string') reasons.push(value.slice(0, 500))
    else if (value && typeof value === 'object') reasons.push(...reasonsFromBody(value))
  }
  return reasons
}

export function paymentFailure({ reasons, wallet, balance, networkLabel }: PaymentFailureParameters): ImagegenError {
  const text = reasons.filter(Boolean).join(' ')
  const funds = FUNDS_PATTERN.test(text)
  const fund = `Fund your wallet ${wallet} with USDC on ${networkLabel} at blockrun.ai.`
  const balanceText = balance ? ` Balance: ${balance}.` : ''
  if (funds) {
    return new ImagegenError({
      status: 402,
      type: 'insufficient_funds',
      code: 'insufficient_funds',
      message: `The payment was refused for insufficient funds.${balanceText} ${fund}`,
    })
  }
  const summary = summarise(text)
  return new ImagegenError({
    status: 402,
    type: 'payment_failed',
    code: 'payment_failed',
    message: `The upstream refused the payment${summary ? ` (${summary})` : ''}.${balanceText} Nothing was charged for this attempt. If this persists: ${fund}`,
  })
}

function summarise(text: string): string {
  const reason = /"?(?:invalidReason|errorReason)"?\s*:\s*"([^"]+)"/.exec(text)?.[1]
  return (reason ?? text).replace(/\s+/g, ' ').trim().slice(0, 200)
}
