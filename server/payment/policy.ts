/**
 * The spend policy, as a pure function: given what a 402 asks and what the user allows, pick the
 * one requirement we may sign, or say precisely why none qualifies. No signature is ever made for
 * a requirement this function did not return (fail closed: anything unreadable is refused).
 *
 * Every requirement is checked against each limit in turn: scheme, network, asset (USDC of that
 * network), payee allowlist, amount, authorization lifetime, and last the per-request cap. The
 * cheapest acceptable one wins. A refusal names the limit, the price asked and the setting that
 * changes it. The rolling 24-hour budget is not here: it needs the shared ledger (`Ledger.reserve`).
 */
import type { PaymentRequired, PaymentRequirements } from '@x402/core/types'
import type { SpendPolicy } from '../config.js'
import { ImagegenError } from '../errors.js'
import { formatUsd } from '../money.js'
import { canonicalAddress, findNetwork, isAddressOn, sameAddress, type KnownNetwork } from './networks.js'

/** A requirement from either protocol version, with its amount as a bigint. */
export type PaymentOption = {
  x402Version: 1 | 2
  scheme: string
  network: KnownNetwork
  /** The token: an ERC-20 contract on EVM networks, an SPL mint on Solana. */
  asset: string
  /** The payee, in its chain's form (0x hex, or base58 on Solana). */
  payTo: string
  amount: bigint
  maxTimeoutSeconds: number
  /** The requirement exactly as the server sent it (v2 servers match it by deep equality). */
  raw: PaymentRequirements
}

/** Which limit refused a requirement. */
export type PolicyLimit = 'scheme' | 'network' | 'asset' | 'payee' | 'amount' | 'timeout' | 'max_per_request'

export type Refusal = {
  limit: PolicyLimit
  /** What was asked, for the message. */
  label: string
  detail: string
  /** The price asked, when it could be read. */
  amount?: bigint
}

export type PolicyDecision =
  | { allowed: true; option: PaymentOption }
  | { allowed: false; error: ImagegenError; refusals: Refusal[] }

/** How to change each limit: env, CLI flag, plugin setting. */
export const LIMIT_SETTINGS: Readonly<Record<PolicyLimit, string>> = {
  scheme: 'only the x402 "exact" scheme is supported; this cannot be changed',
  network: 'allow it with BLOCKRUN_ALLOWED_NETWORKS (or --networks, or the plugin setting networks)',
  asset: 'only USDC is paid; this cannot be changed',
  payee: 'add the address to BLOCKRUN_ALLOWED_PAYEES (or --payees, or the plugin setting payees)',
  amount: 'the upstream sent an unreadable price; this cannot be paid',
  timeout: 'raise BLOCKRUN_MAX_TIMEOUT_SECONDS (or --max-timeout-seconds, or the plugin setting maxTimeoutSeconds)',
  max_per_request: 'raise BLOCKRUN_MAX_PER_REQUEST (or --max-per-request, or the plugin setting maxPerRequest)',
}

const ERROR_CODES: Readonly<Record<PolicyLimit, string>> = {
  scheme: 'scheme_not_supported',
  network: 'network_not_allowed',
  asset: 'asset_not_allowed',
  payee: 'payee_not_allowed',
  amount: 'amount_unreadable',
  timeout: 'max_timeout_exceeded',
  max_per_request: 'max_per_request',
}

/** Checks one requirement; returns the option or the first limit it breaks. */
export function checkRequirement(raw: PaymentRequirements, version: 1 | 2, policy: SpendPolicy): PaymentOption | Refusal {
  const candidate = raw as PaymentRequirements & { maxAmountRequired?: unknown }
  const label = `${String(candidate.scheme ?? '?')} on ${String(candidate.network ?? '?')}`
  const amountText = version === 1 ? candidate.maxAmountRequired : candidate.amount
  const amount = typeof amountText === 'string' && /^\d{1,30}$/.test(amountText) ? BigInt(amountText) : undefined
  const refuse = (limit: PolicyLimit, detail: string): Refusal => ({ limit, label, detail, ...(amount !== undefined ? { amount } : {}) })

  if (candidate.scheme !== 'exact') return refuse('scheme', `scheme "${String(candidate.scheme)}" is not supported`)
  const network = typeof candidate.network === 'string' ? findNetwork(candidate.network) : undefined
  if (!network || !policy.networks.includes(network)) {
    return refuse('network', `network ${String(candidate.network)} is not allowed (allowed: ${policy.networks.map((n) => n.caip2).join(', ') || 'none'})`)
  }
  if (typeof candidate.asset !== 'string' || !sameAddress(candidate.asset, network.usdc)) {
    return refuse('asset', `asset ${String(candidate.asset)} is not USDC on ${network.label} (${network.usdc})`)
  }
  const payTo = typeof candidate.payTo === 'string' ? candidate.payTo : ''
  // Each chain its own address form: an EVM payee on a Solana requirement (or the reverse) is refused.
  if (!isAddressOn(network.chain, payTo)) return refuse('payee', `payTo ${JSON.stringify(candidate.payTo)} is not an address on ${network.label}`)
  if (policy.payees && !policy.payees.includes(canonicalAddress(payTo))) return refuse('payee', `payee ${payTo} is not on the allowed payee list`)
  // EIP-3009 only: @x402/evm signs a Permit2 witness transfer instead when `extra` asks for one,
  // a different authorization (another spender, nonces the chain check cannot judge).
  const method = (candidate.extra as { assetTransferMethod?: unknown } | undefined)?.assetTransferMethod
  if (network.chain === 'base' && method !== undefined && method !== 'eip3009') {
    return refuse('scheme', `asset transfer method ${JSON.stringify(method)} is not supported (only EIP-3009 transferWithAuthorization is signed)`)
  }
  if (amount === undefined || amount <= 0n) return refuse('amount', `amount ${JSON.stringify(amountText)} is not a positive whole number of base units`)
  // A number, not anything Number() reads as one: the scheme adds it to the clock to get the
  // authorization's validBefore, and a string "300" would be appended instead (now + "300"), signing
  // an authorization valid for millennia.
  const timeout = candidate.maxTimeoutSeconds as unknown
  if (typeof timeout !== 'number' || !Number.isSafeInteger(timeout) || timeout <= 0) {
    return refuse('timeout', `authorization lifetime ${JSON.stringify(timeout)} is not a whole number of seconds`)
  }
  if (timeout > policy.maxTimeoutSeconds) return refuse('timeout', `authorization lifetime ${timeout} s exceeds the allowed ${policy.maxTimeoutSeconds} s`)
  if (amount > policy.maxPerRequest) return refuse('max_per_request', `asks ${formatUsd(amount)}, over the per-request cap of ${formatUsd(policy.maxPerRequest)}`)
  return { x402Version: version, scheme: 'exact', network, asset: candidate.asset, payTo, amount, maxTimeoutSeconds: timeout, raw }
}

/** Chooses the cheapest acceptable requirement. */
export function choosePayment(required: PaymentRequired, policy: SpendPolicy): PolicyDecision {
  const version = required.x402Version === 1 ? 1 : 2
  const refusals: Refusal[] = []
  const acceptable: PaymentOption[] = []
  for (const raw of Array.isArray(required.accepts) ? required.accepts : []) {
    const checked = checkRequirement(raw, version, policy)
    if ('limit' in checked) refusals.push(checked)
    else acceptable.push(checked)
  }
  if (acceptable.length > 0) {
    acceptable.sort((a, b) => (a.amount < b.amount ? -1 : a.amount > b.amount ? 1 : 0))
    return { allowed: true, option: acceptable[0]! }
  }
  return { allowed: false, error: refusalError(refusals, policy), refusals }
}

/**
 * The error for a refused 402. The cap is checked last, so a requirement refused by the cap passed
 * every other limit: raising the cap alone would pay it, which makes it a spend limit. Anything
 * else is a payment the user's settings do not allow at all.
 */
export function refusalError(refusals: readonly Refusal[], policy: SpendPolicy): ImagegenError {
  const overCap = refusals.filter((r) => r.limit === 'max_per_request')
  if (overCap.length > 0) {
    const cheapest = overCap.reduce((a, b) => (b.amount! < a.amount! ? b : a))
    return new ImagegenError({
      status: 402,
      type: 'spend_limit_exceeded',
      code: ERROR_CODES.max_per_request,
      param: 'maxPerRequest',
      message:
        `The upstream asks ${formatUsd(cheapest.amount!)} for this request, over your per-request cap of ${formatUsd(policy.maxPerRequest)}. ` +
        `Nothing was signed. If you accept this price, ${LIMIT_SETTINGS.max_per_request}.`,
    })
  }
  if (refusals.length === 0) {
    return new ImagegenError({ status: 402, type: 'payment_not_allowed', code: 'no_payment_options', message: 'The upstream asked for payment but listed no payment options, so nothing was signed.' })
  }
  const limits = [...new Set(refusals.map((r) => r.limit))]
  const asked = refusals.find((r) => r.amount !== undefined)?.amount
  const details = refusals.map((r) => `${r.label}: ${r.detail}`).join('; ')
  const how = limits.map((limit) => LIMIT_SETTINGS[limit]).join('; ')
  return new ImagegenError({
    status: 402,
    type: 'payment_not_allowed',
    code: limits.length === 1 ? ERROR_CODES[limits[0]!] : 'no_acceptable_requirement',
    message:
      `The upstream asks ${asked === undefined ? 'an unreadable amount' : formatUsd(asked)} in a way your settings do not allow, so nothing was signed. ` +
      `${details}. To change this: ${how}.`,
  })
}
