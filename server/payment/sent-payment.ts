/**
 * A payment whose request went out, and the one ledger outcome it gets. The caller (the upstream
 * client, the job poller) reports what the upstream did; this decides what that means for the
 * money and writes it once:
 *
 * - settlement evidence (`PAYMENT-RESPONSE` success, or BlockRun's `X-Payment-Receipt`) → settled;
 * - a settlement header saying failure → refused, and a payment error;
 * - no evidence on a final answer → unknown (it may have settled: counted as spent);
 * - the upstream refused the authorization (a 402) → refused;
 * - the upstream reported the work failed without settling → failed;
 * - we stopped polling a job before it completed → abandoned (the gateway settles a job on its
 *   first completed poll, so an honest one settles nothing).
 *
 * Refused, failed and abandoned authorizations are still valid signatures until they expire, so
 * the budget holds them (budget-window.ts).
 */
import type { PaymentPayload, PaymentRequired } from '@x402/core/types'
import type { ImagegenError } from '../errors.js'
import { formatUsd } from '../money.js'
import type { SignedAuthorization } from './authorize.js'
import type { PaymentFailureParameters } from './failure.js'
import type { Ledger } from './ledger.js'
import type { PaymentOption } from './policy.js'
import { readSettlement } from './x402.js'

/** What was paid, for the response and the ledger. */
export type PaymentReceipt = {
  id: string
  amount: bigint
  usd: string
  network: string
  asset: string
  payTo: string
  payer: string
  x402Version: number
  transaction: string | undefined
  status: 'settled' | 'unknown'
}

export type SentPayment = {
  /** The ledger's id for this authorization. */
  readonly id: string
  readonly option: PaymentOption
  /** The requirements it was signed for (one requirement). */
  readonly required: PaymentRequired
  readonly payload: PaymentPayload
  /** The headers that carry it: the paid request's, and every poll of the job it paid for. */
  readonly headers: Record<string, string>
  /** Authorizations this request has signed so far, this one included. */
  readonly signatures: number
  /** True once an outcome is recorded. */
  readonly recorded: boolean
  /** The receipt, once the payment is recorded as settled. */
  readonly settled: PaymentReceipt | undefined
  /**
   * Records the outcome from the response that carries the settlement (the paid response itself,
   * or the completed poll of a 202 job). Throws a payment error when the settlement failed.
   */
  finish(response: Response): Promise<PaymentReceipt>
  /** The outcome cannot be known (the answer was lost after it may have settled). Counted as spent. */
  lost(reason: string): Promise<PaymentReceipt>
  /**
   * The upstream says the work failed. Settlement evidence on `response`, if any, still wins: the
   * receipt comes back then (the user was charged for nothing and must be told).
   */
  failed(response: Response | undefined, reason: string): Promise<PaymentReceipt | undefined>
  /** We stopped polling the job this paid for, before it completed. */
  abandoned(reason: string): Promise<void>
  /** The upstream refused this authorization (a 402 to it). */
  refused(reason: string): Promise<void>
}

export type SentPaymentParameters = {
  authorization: SignedAuthorization
  ledger: Ledger
  /** The address that signed (on the payment's chain). */
  payer: string
  signatures: number
  /** Builds the user's error for a failed settlement (with the balance, when readable). */
  failure: (parameters: PaymentFailureParameters) => Promise<ImagegenError>
}

export function sentPayment({ authorization, ledger, payer, signatures, failure }: SentPaymentParameters): SentPayment {
  const { id, option, payload, headers, required } = authorization
  const receipt = (status: PaymentReceipt['status'], transaction: string | undefined): PaymentReceipt => ({
    id,
    amount: option.amount,
    usd: formatUsd(option.amount),
    network: option.network.caip2,
    asset: option.asset,
    payTo: option.payTo,
    payer,
    x402Version: payload.x402Version,
    transaction,
    status,
  })
  let recorded = false
  let settled: PaymentReceipt | undefined
  const close = async (kind: 'refused' | 'failed' | 'abandoned' | 'unknown', reason: string) => {
    if (recorded) return
    recorded = true
    await ledger.closed(id, kind, reason)
  }
  const payment: SentPayment = {
    id,
    option,
    required,
    payload,
    headers,
    signatures,
    get recorded() {
      return recorded
    },
    get settled() {
      return settled
    },
    async finish(response) {
      const settlement = await readSettlement((name) => response.headers.get(name))
      if (recorded) return settled ?? receipt(settlement?.success ? 'settled' : 'unknown', settlement?.transaction)
      if (settlement?.success) {
        recorded = true
        settled = receipt('settled', settlement.transaction)
        await ledger.settled(id, settlement.transaction)
        return receipt('settled', settlement.transaction)
      }
      if (settlement) {
        const reason = settlement.errorReason ?? 'settlement failed'
        await close('refused', reason)
        throw await failure({ reasons: [reason], wallet: payer, network: option.network, amount: option.amount })
      }
      await close('unknown', `no settlement header (HTTP ${response.status})`)
      return receipt('unknown', undefined)
    },
    async lost(reason) {
      await close('unknown', reason)
      return receipt('unknown', undefined)
    },
    async failed(response, reason) {
      if (recorded) return undefined
      const settlement = response && (await readSettlement((name) => response.headers.get(name)))
      if (settlement) {
        const paid = await payment.finish(response!).catch(() => undefined)
        return paid?.status === 'settled' ? paid : undefined
      }
      await close('failed', reason)
      return undefined
    },
    abandoned: (reason) => close('abandoned', reason),
    refused: (reason) => close('refused', reason),
  }
  return payment
}
