/**
 * The spend policy, as a pure function: given what a 402 asks and what the user allows, pick the
 * one requirement we may sign, or say precisely why none qualifies. No signature is ever made for
 * a requirement this function did not return.
 */
import type { PaymentRequired, PaymentRequirements } from '@x402/core/types'
import type { SpendPolicy } from '../config.js'
import { ImagegenError } from '../errors.js'
import { formatUsd } from '../money.js'
import { findNetwork, type KnownNetwork } from './networks.js'

/** A requirement from either protocol version, with its amount as a bigint. */
export type PaymentOption = {
  x402Version: 1 | 2
  scheme: string
  network: KnownNetwork
  asset: `0x${string}`
  payTo: `0x${string}`
  amount: bigint
  maxTimeoutSeconds: number
  /** The requirement exactly as the server sent it (v2 servers match it by deep equality). */
  raw: PaymentRequirements
}

export type PolicyDecision =
  | { allowed: true; option: PaymentOption }
  | { allowed: false; error: ImagegenError }

/** Chooses the cheapest acceptable requirement. */
export function choosePayment(required: PaymentRequired, policy: SpendPolicy): PolicyDecision {
  const version = required.x402Version === 1 ? 1 : 2
  const reasons: string[] = []
  let overCap: bigint | undefined
  const acceptable: PaymentOption[] = []

  for (const raw of required.accepts ?? []) {
    const candidate = raw as PaymentRequirements & { maxAmountRequired?: string }
    const label = `${candidate.scheme ?? '?'} on ${candidate.network ?? '?'}`
    if (candidate.scheme !== 'exact') {
      reasons.push(`${label}: only the "exact" scheme is supported`)
      continue
    }
    const network = typeof candidate.network === 'string' ? findNetwork(candidate.network) : undefined
    if (!network || !policy.networks.includes(network)) {
      reasons.push(`${label}: network not allowed (allowed: ${policy.networks.map((n) => n.caip2).join(', ')})`)
      continue
    }
    if (typeof candidate.asset !== 'string' || candidate.asset.toLowerCase() !== network.usdc.toLowerCase()) {
      reasons.push(`${label}: asset ${String(candidate.asset)} is not USDC on ${network.label}`)
      continue
    }
    const payTo = typeof candidate.payTo === 'string' ? candidate.payTo : ''
    if (!/^0x[0-9a-fA-F]{40}$/.test(payTo)) {
      reasons.push(`${label}: payTo is not an address`)
      continue
    }
    if (policy.payees && !policy.payees.includes(payTo.toLowerCase())) {
      reasons.push(`${label}: payee ${payTo} is not on the allowed payee list`)
      continue
    }
    const amountText = version === 1 ? candidate.maxAmountRequired : candidate.amount
    if (typeof amountText !== 'string' || !/^\d{1,30}$/.test(amountText)) {
      reasons.push(`${label}: amount is not a whole number of base units`)
      continue
    }
    const amount = BigInt(amountText)
    if (amount <= 0n) {
      reasons.push(`${label}: amount must be positive`)
      continue
    }
    const timeout = Number(candidate.maxTimeoutSeconds)
    if (!Number.isInteger(timeout) || timeout <= 0 || timeout > policy.maxTimeoutSeconds) {
      reasons.push(`${label}: authorization lifetime ${candidate.maxTimeoutSeconds}s exceeds the allowed ${policy.maxTimeoutSeconds}s`)
      continue
    }
    if (amount > policy.maxPerRequest) {
      overCap = overCap === undefined || amount < overCap ? amount : overCap
      reasons.push(`${label}: asks ${formatUsd(amount)}, over the per-request cap of ${formatUsd(policy.maxPerRequest)}`)
      continue
    }
    acceptable.push({
      x402Version: version,
      scheme: 'exact',
      network,
      asset: candidate.asset as `0x${string}`,
      payTo: payTo as `0x${string}`,
      amount,
      maxTimeoutSeconds: timeout,
      raw,
    })
  }

  if (acceptable.length > 0) {
    acceptable.sort((a, b) => (a.amount < b.amount ? -1 : a.amount > b.amount ? 1 : 0))
    return { allowed: true, option: acceptable[0]! }
  }
  if (overCap !== undefined && reasons.every((r) => r.includes('per-request cap') || r.includes('not allowed') || r.includes('not USDC'))) {
    return {
      allowed: false,
      error: new ImagegenError({
        status: 402,
        type: 'spend_limit_exceeded',
        code: 'max_per_request',
        message:
          `The upstream asks ${formatUsd(overCap)} for this request, over your per-request cap of ${formatUsd(policy.maxPerRequest)}. ` +
          'Nothing was signed. Raise the cap with BLOCKRUN_MAX_PER_REQUEST (or --max-per-request, or the plugin setting maxPerRequest) if you accept this price.',
      }),
    }
  }
  return {
    allowed: false,
    error: new ImagegenError({
      status: 402,
      type: 'payment_not_allowed',
      code: 'no_acceptable_requirement',
      message: `No payment option the upstream offered is allowed, so nothing was signed. ${reasons.join('; ') || 'The 402 listed no payment options.'}.`,
    }),
  }
}
