/**
 * Turns the many ways an upstream says "your payment did not go through" into one error a user
 * can act on: what went wrong in plain words, which wallet, its balance when known, and how to
 * fund it.
 *
 * Forms understood (see REFERENCE.md §1–2):
 * - x402 v2: a 402 whose `PAYMENT-REQUIRED` header carries `error` (e.g. `insufficient_funds`);
 *   a `PAYMENT-RESPONSE` settlement with `success: false` and `errorReason`.
 * - x402 v1: a 402 JSON body `{x402Version: 1, error, accepts}`; `X-PAYMENT-RESPONSE`.
 * - BlockRun bodies: `{"error":"Payment verification failed","details":"Verification failed:
 *   {...\"invalidReason\":\"insufficient_funds\"...}"}` and `{"error":"Settlement failed", ...}`.
 *
 * The type is `insufficient_funds` when any reason says the wallet is short, else
 * `payment_failed`. Both are 402s in the OpenAI error shape; the MCP and OpenClaw tools show the
 * message unchanged, so it carries everything the user needs.
 */
import { readSmallBody } from '../upstream/small-body.js'
import { ImagegenError } from '../errors.js'
import { formatUsd } from '../money.js'
import { BASE, type KnownNetwork } from './networks.js'
import { readPaymentRequired } from './x402.js'
import type { PaymentRequired } from '@x402/core/types'

/** The sentence every payment error on Base ends with. */
export const FUND_ADVICE = 'Fund your wallet with USDC on Base at blockrun.ai.'

/** How to fund the wallet for a payment on `network`: the chain named, and on Solana how to switch back. */
export function fundAdvice(network: KnownNetwork | undefined): string {
  if (network?.chain === 'solana') {
    const base = 'Fund your Solana address with USDC on Solana at blockrun.ai, or pay on Base instead with BLOCKRUN_PAYMENT_CHAIN=base'
    return network.testnet ? `${base} (this upstream asked for test USDC on ${network.label}).` : `${base}.`
  }
  const testnet = network?.testnet ?? false
  return testnet ? `${FUND_ADVICE.slice(0, -1)} (this upstream asked for test USDC on ${network!.label}).` : FUND_ADVICE
}

const FUNDS_PATTERN = /insufficient[_ ]?(funds|balance)|exceeds balance|transfer amount exceeds/i

/** Upstream reason codes (x402 facilitators) in words, most specific first. */
const EXPLANATIONS: ReadonlyArray<readonly [RegExp, string]> = [
  [FUNDS_PATTERN, 'the wallet does not hold enough USDC'],
  [/nonce/i, 'this authorization was already used (its nonce was spent), so it was refused as a replay'],
  [/signature/i, 'the payment signature did not verify (it was not made by this wallet for this token, or was altered)'],
  [/eip712|domain/i, 'the payment was signed for the wrong token domain'],
  [/blockhash/i, 'the Solana transaction was built on a blockhash that expired before the upstream checked it'],
  [/valid_?before|expired/i, 'the authorization expired before the upstream checked it'],
  [/valid_?after/i, 'the authorization is not valid yet (check the system clock)'],
  [/recipient|pay_?to/i, 'the authorization pays a different address than the upstream expects'],
  [/value|amount/i, 'the authorized amount is not the price asked'],
  [/network|chain/i, 'the payment is for a different network than the upstream expects'],
  [/no_matching_requirements|does not match/i, 'the payment does not match what the upstream asked for (its price or terms changed)'],
  [/settle/i, 'the upstream could not settle the payment'],
  [/payment required/i, 'it asked for payment again instead of accepting this authorization'],
]

export type PaymentFailureParameters = {
  /** The reasons the upstream gave, as text (error field, details, errorReason). */
  reasons: readonly (string | undefined)[]
  wallet: string
  /** The network the payment was for; its label appears in the message. */
  network?: KnownNetwork | undefined
  /** The price asked, base units. */
  amount?: bigint | undefined
  /** The wallet's USDC balance on that network, base units, when it could be read. */
  balance?: bigint | undefined
}

/** True when the reasons say the wallet is short of funds (no new signature can help). */
export function isFundsFailure(reasons: readonly (string | undefined)[]): boolean {
  return FUNDS_PATTERN.test(reasons.filter(Boolean).join(' '))
}

/**
 * True when the reasons say a Solana transfer's blockhash went stale before it was verified: the
 * signals BlockRun's SDK reads (`isSafeStaleBlockhashResponse`): code `payment_blockhash_stale`,
 * `BlockhashNotFound` / `BlockHeightExceeded` from simulation, or `expired_signature`. A refusal
 * in verification settled nothing, so a new transfer on a fresh blockhash is safe.
 */
export function isStaleBlockhash(reasons: readonly (string | undefined)[]): boolean {
  const text = reasons.filter(Boolean).join(' ').toLowerCase().replace(/[_\-\s:]/g, '')
  return /settlementfailed/.test(text) ? false : /blockhashstale|blockhashnotfound|blockheightexceeded|expiredsignature/.test(text)
}

/** Pulls every human-readable reason out of a failure body, including JSON nested in strings. */
export function reasonsFromBody(body: unknown, depth = 0): string[] {
  if (depth > 4) return []
  if (typeof body === 'string') {
    if (!body) return []
    const reasons = [body.slice(0, 500)]
    const json = body.indexOf('{')
    if (json >= 0) {
      try {
        reasons.push(...reasonsFromBody(JSON.parse(body.slice(json)), depth + 1))
      } catch {
        // prose with a brace in it
      }
    }
    return reasons
  }
  if (!body || typeof body !== 'object') return []
  const record = body as Record<string, unknown>
  const reasons: string[] = []
  for (const key of ['invalidReason', 'errorReason', 'error', 'details', 'message', 'reason']) {
    const value = record[key]
    if (typeof value === 'string' || (value && typeof value === 'object')) reasons.push(...reasonsFromBody(value, depth + 1))
  }
  return reasons
}

/**
 * Reads a 402 that answered a paid request: its reasons (header and body) and, when the header
 * carries them, fresh requirements.
 */
export async function readRefusal(response: Response): Promise<{ reasons: string[]; required: PaymentRequired | undefined }> {
  const body = await readSmallBody(response).catch(() => undefined)
  const required = await readPaymentRequired((name) => response.headers.get(name), body).catch(() => undefined)
  const reasons = [...(typeof required?.error === 'string' && required.error ? [required.error] : []), ...reasonsFromBody(body)]
  return { reasons: [...new Set(reasons)], required }
}

/** The upstream's own short code for the failure, when it gave one (e.g. `insufficient_funds`). */
export function failureCode(reasons: readonly (string | undefined)[]): string | undefined {
  for (const reason of reasons) {
    if (reason && /^[a-z][a-z0-9_]{2,80}$/.test(reason)) return reason
  }
  const text = reasons.filter(Boolean).join(' ')
  return /\\?"(?:invalidReason|errorReason)\\?"\s*:\s*\\?"([^"\\]+)/.exec(text)?.[1]
}

/** One line for the ledger: the code when there is one, else the first reason. */
export function summariseReasons(reasons: readonly (string | undefined)[]): string {
  const code = failureCode(reasons)
  const first = reasons.find(Boolean) ?? 'refused'
  return (code && code !== first ? `${first} (${code})` : first).replace(/\s+/g, ' ').slice(0, 300)
}

export function paymentFailure({ reasons, wallet, network, amount, balance }: PaymentFailureParameters): ImagegenError {
  const label = network?.label ?? BASE.label
  const price = amount === undefined ? 'this payment' : `the payment of ${formatUsd(amount)}`
  const balanceText = balance === undefined ? 'balance unknown' : `balance ${formatUsd(balance)} USDC on ${label}`
  const advice = fundAdvice(network)
  if (isFundsFailure(reasons)) {
    return new ImagegenError({
      status: 402,
      type: 'insufficient_funds',
      code: 'insufficient_funds',
      message: `Your wallet ${wallet} does not hold enough USDC for ${price} on ${label} (${balanceText}). Nothing was charged. ${advice}`,
    })
  }
  const code = failureCode(reasons)
  const text = [...new Set(reasons.filter(Boolean))].join(' ')
  const explanation = EXPLANATIONS.find(([pattern]) => pattern.test(code ?? text))?.[1] ?? 'the upstream refused it'
  const said = code ?? text.replace(/\s+/g, ' ').trim().slice(0, 160)
  return new ImagegenError({
    status: 402,
    type: 'payment_failed',
    code: 'payment_failed',
    message:
      `The upstream refused ${price} on ${label}: ${explanation}${said ? ` (upstream said: ${said})` : ''}. ` +
      `No payment settled for this attempt. Wallet ${wallet} (${balanceText}). If it is short of funds: ${advice}`,
  })
}

/**
 * Reads the balance for an error message, never waiting longer than `timeoutMs`: an unreachable
 * RPC must not turn a fast, clear error into a slow one.
 */
export async function balanceWithin(read: (() => Promise<bigint | undefined>) | undefined, timeoutMs = 1500): Promise<bigint | undefined> {
  if (!read) return undefined
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), timeoutMs)
  })
  try {
    return await Promise.race([read().catch(() => undefined), timeout])
  } finally {
    clearTimeout(timer)
  }
}
