/**
 * A 402's requirements read as a price, with the spend policy's verdict and nothing signed: what
 * the payer would pay (the cheapest requirement the policy allows), or, when the policy allows
 * none, what the upstream asked and why it would be refused. Pure.
 */
import type { PaymentRequired } from '@x402/core/types'
import type { SpendPolicy } from '../config.js'
import { findNetwork, type PaymentChain } from './networks.js'
import { checkRequirement, choosePayment } from './policy.js'

export type PriceQuote = {
  /** What the payment would be, base units; undefined when the upstream's price cannot be read. */
  amount: bigint | undefined
  /** CAIP-2 network, its label and chain, the asset and the payee of that requirement. */
  network: string | undefined
  networkLabel: string | undefined
  chain: PaymentChain | undefined
  asset: string | undefined
  payTo: string | undefined
  /** How long the authorization would be valid, seconds. */
  maxTimeoutSeconds: number | undefined
  /** The policy's verdict (network, asset, payee, lifetime, per-request cap); the budget is judged apart. */
  policy: { allowed: true } | { allowed: false; code: string; message: string }
}

export function priceOf(required: PaymentRequired, policy: SpendPolicy): PriceQuote {
  const decision = choosePayment(required, policy)
  if (decision.allowed) {
    const { option } = decision
    return {
      amount: option.amount,
      network: option.network.caip2,
      networkLabel: option.network.label,
      chain: option.network.chain,
      asset: option.asset,
      payTo: option.payTo,
      maxTimeoutSeconds: option.maxTimeoutSeconds,
      policy: { allowed: true },
    }
  }
  // Refused: describe the cheapest readable requirement, as the refusal itself does.
  const priced = decision.refusals.filter((r) => r.amount !== undefined).sort((a, b) => (a.amount! < b.amount! ? -1 : a.amount! > b.amount! ? 1 : 0))[0]
  const raw = (Array.isArray(required.accepts) ? required.accepts : []).find((r) => {
    const checked = checkRequirement(r, required.x402Version === 1 ? 1 : 2, policy)
    return 'limit' in checked && priced !== undefined && checked.amount === priced.amount && checked.label === priced.label
  }) as Record<string, unknown> | undefined
  const network = typeof raw?.network === 'string' ? raw.network : undefined
  const known = network ? findNetwork(network) : undefined
  return {
    amount: priced?.amount,
    network: known?.caip2 ?? network,
    networkLabel: known?.label,
    chain: known?.chain,
    asset: typeof raw?.asset === 'string' ? raw.asset : undefined,
    payTo: typeof raw?.payTo === 'string' ? raw.payTo : undefined,
    maxTimeoutSeconds: typeof raw?.maxTimeoutSeconds === 'number' ? raw.maxTimeoutSeconds : undefined,
    policy: { allowed: false, code: decision.error.code ?? 'payment_not_allowed', message: decision.error.message },
  }
}
