/**
 * A paid call above the confirmation threshold (BLOCKRUN_CONFIRM_ABOVE), where the front door can
 * ask the user: the core refuses it before signing (`confirmation_required`); then the call is
 * quoted (free, nothing signed), the user is asked with the exact price, and on their yes it is
 * made again with `max_price` set to that price and their consent for it. In-process and through
 * the remote core alike: the proxy honours the consent only from our own front doors (the token).
 * Without a way to ask (`confirm` undefined), the refusal stands and names the price.
 */
import { formatUsd, parseUsd } from '../money.js'
import { confirmationDeclined } from '../payment/ceilings.js'
import type { Quote } from '../quote.js'
import type { CallOptions, ImageResult } from '../service.js'
import type { ImagegenCore } from './types.js'

/** Asks the user whether to pay `quote`; true only on their explicit yes. */
export type Confirm = (quote: Quote) => Promise<boolean>

export async function withConsent(
  core: ImagegenCore,
  kind: 'generate' | 'edit',
  input: Record<string, unknown>,
  options: CallOptions,
  confirm: Confirm | undefined,
): Promise<ImageResult> {
  try {
    return await core[kind](input, options)
  } catch (error) {
    if (!confirm || (error as { code?: unknown }).code !== 'confirmation_required') throw error
    const { max_price: maxPrice, idempotency_key: _key, ...priced } = input
    const quote = await core.quote(priced, { signal: options.signal })
    if (quote.amount === undefined) throw error
    // The price fell under the threshold since: nobody needs asking.
    if (!quote.confirmation.needed) return core[kind](input, options)
    // The caller's own ceiling still holds: a price above it is refused without asking.
    if (maxPrice !== undefined && maxPrice !== null && quote.amount > parseUsd(String(maxPrice))) return core[kind](input, options)
    if (!(await confirm(quote))) throw confirmationDeclined(quote.amount)
    return core[kind]({ ...input, max_price: formatUsd(quote.amount).slice(1) }, { ...options, consented: quote.amount })
  }
}

/** The confirmation question, with the quote in it. */
export function consentQuestion(quote: Quote): string {
  const what = `${quote.n} image${quote.n === 1 ? '' : 's'} from ${quote.model} at ${quote.size}${quote.kind === 'edit' ? ' (an edit)' : ''}`
  return (
    `Pay ${formatUsd(quote.amount ?? 0n)} USDC for ${what}? ` +
    `That is above ${formatUsd(quote.confirmation.above ?? 0n)}, the price over which imagegen asks you (BLOCKRUN_CONFIRM_ABOVE). ` +
    `Paid on ${quote.networkLabel ?? quote.network} to ${quote.payTo}; ${formatUsd(quote.budget.remaining)} left of your ${formatUsd(quote.budget.daily)} 24-hour budget.`
  )
}
