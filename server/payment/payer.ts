/**
 * The payer: sends a request upstream and, when the upstream answers 402, pays once and resends.
 *
 * The order of steps is the safety argument:
 *   402 → policy (pure) → budget reservation (ledger, shared by every process) → sign, with the
 *   ledger's `signed` line fsync'd alongside → paid request → settlement recorded.
 * No signature exists unless the policy and budget allowed it. A paid request is sent once: if its
 * answer is lost, the outcome is recorded as unknown and counted as spent, never re-signed. A 402
 * after paying means the upstream rejected that authorization: it is recorded as refused.
 *
 * @see https://github.com/coinbase/x402/blob/main/specs/x402-specification.md
 */
import { randomUUID } from 'node:crypto'
import type { LocalAccount } from 'viem'
import type { PaymentPayload, PaymentRequired } from '@x402/core/types'
import type { SpendPolicy } from '../config.js'
import { ImagegenError, upstreamError } from '../errors.js'
import { formatUsd } from '../money.js'
import type { Ledger } from './ledger.js'
import { choosePayment, type PaymentOption } from './policy.js'
import { RequirementsCache } from './requirements-cache.js'
import { balanceWithin, isFundsFailure, paymentFailure, readRefusal, summariseReasons, type PaymentFailureParameters } from './failure.js'
import type { KnownNetwork } from './networks.js'
import { readSmallBody } from '../upstream/small-body.js'
import { createX402Signer, readPaymentRequired, readSettlement, type AuthorizationTerms, type X402Signer } from './x402.js'

/** Sends the request; `headers` carries the payment on the paid attempt. */
export type SendRequest = (headers: Record<string, string>) => Promise<Response>

export type PaymentContext = {
  requestId: string
  endpoint: string
  model: string
  size: string
  n: number
  signal?: AbortSignal | undefined
}

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

/** A payment whose request went out; the caller reports the final upstream response to it. */
export type SentPayment = {
  readonly option: PaymentOption
  /**
   * Records the outcome from the response that carries the settlement header (the paid response
   * itself, or the completed poll of a 202 job). Throws a payment error when settlement failed.
   */
  finish(response: Response): Promise<PaymentReceipt>
  /** Records that the outcome cannot be known (e.g. the job never completed). Counted as spent. */
  lost(reason: string): Promise<PaymentReceipt>
  /**
   * The upstream said the work failed (a failed 202 job). Jobs settle on completion, so without a
   * settlement header saying otherwise the authorization is recorded as refused: not settled, and
   * counted against the budget only until it expires.
   */
  failed(response: Response, reason: string): Promise<void>
}

export type PaidResponse = { response: Response; payment: SentPayment | undefined }

/** A pre-paid attempt the upstream refused: `required` holds the 402's fresh requirements when it had readable ones. */
type PaidAttempt = ({ kind: 'sent' } & PaidResponse) | { kind: 'rejected'; required: PaymentRequired | undefined }

/** Clock difference allowed between this machine and the scheme's idea of now, when checking validBefore. */
const VALID_BEFORE_SLACK_SECONDS = 60

export type PayerParameters = {
  /** The wallet's address, known without loading the signer. */
  address: `0x${string}`
  /** The signing account, built on the first payment. */
  account: () => Promise<LocalAccount>
  policy: SpendPolicy
  ledger: Ledger
  /**
   * Reads the wallet's USDC balance on a network, for payment error messages only (never on the
   * happy path). Bounded by `balanceTimeoutMs`.
   */
  readBalance?: ((network: KnownNetwork) => Promise<bigint | undefined>) | undefined
  balanceTimeoutMs?: number
}

export class Payer {
  private signer: Promise<X402Signer> | undefined
  private readonly requirements = new RequirementsCache()

  constructor(private readonly parameters: PayerParameters) {}

  get address(): `0x${string}` {
    return this.parameters.address
  }

  async send(send: SendRequest, context: PaymentContext): Promise<PaidResponse> {
    // A known route: pay on the first attempt. If the upstream still answers 402, that
    // authorization was refused (never settled), and one ordinary round follows: from that 402's
    // fresh requirements, or from an unpaid request when it carried none.
    const known = this.requirements.get(context)
    let required: PaymentRequired | undefined
    if (known) {
      const attempt = await this.pay(send, known, context, true)
      if (attempt.kind === 'sent') return attempt
      required = attempt.required
    }
    if (!required) {
      // No cached requirements, or a refusal that did not carry readable fresh ones: ask unpaid.
      const first = await sendOrThrow(send, {}, 'The upstream could not be reached')
      if (first.status !== 402) return { response: first, payment: undefined }
      required = await readRequirements(first)
    }
    const attempt = await this.pay(send, required, context, false)
    // Only a pre-paid attempt comes back rejected; an ordinary one throws its refusal.
    if (attempt.kind !== 'sent') throw new Error('an ordinary payment attempt came back rejected')
    return attempt
  }

  /**
   * One paid attempt. `prepaid` marks an attempt made from cached requirements: its rejection is
   * returned (with the fresh requirements, when the 402 carried readable ones) instead of thrown.
   */
  private async pay(send: SendRequest, required: PaymentRequired, context: PaymentContext, prepaid: boolean): Promise<PaidAttempt> {
    const { policy, ledger, account, address } = this.parameters
    // The policy runs on every attempt, cached requirements included (they were cached only
    // after this same policy allowed them, so a refusal here is always final).
    const decision = choosePayment(required, policy)
    if (!decision.allowed) throw decision.error
    const { option } = decision
    // Only a fresh 402 refreshes the cache, so a route in steady use still expires.
    if (!prepaid) this.requirements.set(context, required)
    const id = randomUUID()
    await ledger.reserve(
      {
        id,
        requestId: context.requestId,
        endpoint: context.endpoint,
        model: context.model,
        size: context.size,
        n: context.n,
        amount: option.amount,
        network: option.network.caip2,
        asset: option.asset,
        payTo: option.payTo,
      },
      policy.dailyBudget,
    )

    let payload: PaymentPayload
    let headers: Record<string, string>
    let ledgerError: unknown
    try {
      context.signal?.throwIfAborted()
      this.signer ??= account().then((signingAccount) => createX402Signer(signingAccount, policy.maxPerRequest))
      const signer = await this.signer
      // The `signed` line is written and fsync'd while the signature is computed; the payload
      // comes back only once the line is on disk. Only the payment's own authorization is
      // recorded: a scheme extension may sign more, and those calls wait for the same line.
      const recordSigned = async (terms: AuthorizationTerms) => {
        // The policy allowed this lifetime; the authorization must not outlive it, whatever the
        // scheme computed from the requirements (a second fence behind policy.ts).
        checkValidBefore(terms.validBefore, policy.maxTimeoutSeconds)
        try {
          await ledger.signed(id, { ...terms, x402Version: required.x402Version, payer: address })
        } catch (error) {
          ledgerError = error
          throw error
        }
      }
      let recorded: Promise<void> | undefined
      payload = await signer.sign({ ...required, accepts: [option.raw] }, (terms) => (recorded ??= recordSigned(terms)))
      headers = signer.headers(payload)
    } catch (error) {
      if (ledgerError !== undefined) {
        // No durable record, so the payment must not leave; nothing was sent.
        await ledger.closed(id, 'released', 'the ledger could not be written').catch(() => {})
        throw new ImagegenError({ status: 500, type: 'server_error', code: 'ledger_unavailable', message: `The payment ledger in ${ledger.path} could not be written, so nothing was paid.`, cause: ledgerError })
      }
      await ledger.closed(id, 'released', error instanceof Error ? error.message.slice(0, 200) : 'signing failed').catch(() => {})
      if (context.signal?.aborted) throw context.signal.reason
      if (error instanceof ImagegenError) throw error
      throw new ImagegenError({ status: 500, type: 'payment_failed', message: 'Could not sign the payment.', code: 'signing_failed', cause: error })
    }
    if (context.signal?.aborted) {
      // The authorization never left this process, so nobody can settle it.
      await ledger.closed(id, 'released', 'cancelled before sending')
      throw context.signal.reason
    }

    let response: Response
    try {
      response = await send(headers)
    } catch (error) {
      if (prepaid) this.requirements.delete(context)
      if (!context.signal?.aborted && neverConnected(error)) {
        // No connection was made, so the authorization never left this machine.
        await ledger.closed(id, 'released', `upstream unreachable: ${describe(error)}`)
        throw upstreamError(`The upstream could not be reached (${describe(error)}). Nothing was paid.`, error, 'upstream_unreachable')
      }
      await ledger.closed(id, 'unknown', `paid request failed in transit: ${describe(error)}`)
      if (context.signal?.aborted) throw context.signal.reason
      throw upstreamError(
        `The paid request to the upstream failed in transit (${describe(error)}). It was not retried, so you are charged at most once; ` +
          'the payment is recorded as unknown in the ledger.',
        error,
        'upstream_lost',
      )
    }

    if (response.status === 402) {
      const { reasons, required: fresh } = await readRefusal(response)
      await ledger.closed(id, 'refused', summariseReasons(reasons))
      // Whatever happens next, requirements the upstream just refused are not used again.
      if (prepaid) this.requirements.delete(context)
      const failure = { reasons, wallet: address, network: option.network, amount: option.amount }
      // A rejected pre-paid attempt falls back to one ordinary round (with the 402's own fresh
      // requirements when it had readable ones, else by asking unpaid), unless no new payment
      // could succeed either.
      if (prepaid && !isFundsFailure(reasons)) return { kind: 'rejected', required: fresh && Array.isArray(fresh.accepts) ? fresh : undefined }
      throw await this.failure(failure)
    }

    const receipt = (status: PaymentReceipt['status'], transaction: string | undefined): PaymentReceipt => ({
      id,
      amount: option.amount,
      usd: formatUsd(option.amount),
      network: option.network.caip2,
      asset: option.asset,
      payTo: option.payTo,
      payer: address,
      x402Version: payload.x402Version,
      transaction,
      status,
    })
    let done = false
    const failure = (parameters: PaymentFailureParameters) => this.failure(parameters)
    const payment: SentPayment = {
      option,
      async finish(final) {
        const settlement = await readSettlement((name) => final.headers.get(name))
        if (done) return receipt(settlement?.success ? 'settled' : 'unknown', settlement?.transaction)
        done = true
        if (settlement?.success) {
          await ledger.settled(id, settlement.transaction)
          return receipt('settled', settlement.transaction)
        }
        if (settlement && !settlement.success) {
          const reason = settlement.errorReason ?? 'settlement failed'
          await ledger.closed(id, 'refused', reason)
          throw await failure({ reasons: [reason], wallet: address, network: option.network, amount: option.amount })
        }
        await ledger.closed(id, 'unknown', `no settlement header (HTTP ${final.status})`)
        return receipt('unknown', undefined)
      },
      async lost(reason) {
        if (!done) {
          done = true
          await ledger.closed(id, 'unknown', reason)
        }
        return receipt('unknown', undefined)
      },
      async failed(final, reason) {
        if (done) return
        if (final.headers.has('PAYMENT-RESPONSE') || final.headers.has('X-PAYMENT-RESPONSE')) {
          await this.finish(final)
          return
        }
        done = true
        await ledger.closed(id, 'refused', reason)
      },
    }
    return { kind: 'sent', response, payment }
  }

  /** A payment error with the wallet's balance on that network, read within a short bound. */
  private async failure(parameters: PaymentFailureParameters): Promise<ImagegenError> {
    const { readBalance, balanceTimeoutMs } = this.parameters
    const network = parameters.network
    const balance = await balanceWithin(readBalance && network ? () => readBalance(network) : undefined, balanceTimeoutMs)
    return paymentFailure({ ...parameters, balance })
  }
}

/** Throws unless `validBefore` (unix seconds, decimal) is within `maxSeconds` of now, plus clock slack. */
function checkValidBefore(validBefore: string, maxSeconds: number): void {
  const latest = BigInt(Math.floor(Date.now() / 1000) + maxSeconds + VALID_BEFORE_SLACK_SECONDS)
  if (/^\d{1,20}$/.test(validBefore) && BigInt(validBefore) <= latest) return
  throw new ImagegenError({
    status: 402,
    type: 'payment_not_allowed',
    code: 'max_timeout_exceeded',
    message: `The payment would have been valid until ${validBefore}, past the allowed lifetime of ${maxSeconds} s, so it was not signed.`,
  })
}

async function sendOrThrow(send: SendRequest, headers: Record<string, string>, what: string): Promise<Response> {
  try {
    return await send(headers)
  } catch (error) {
    if (error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError')) throw error
    throw upstreamError(`${what} (${describe(error)}).`, error, 'upstream_unreachable')
  }
}

async function readRequirements(response: Response): Promise<PaymentRequired> {
  const body = await readBody(response)
  try {
    const required = await readPaymentRequired((name) => response.headers.get(name), body)
    if (!Array.isArray(required.accepts)) throw new Error('no accepts list')
    return required
  } catch (error) {
    throw upstreamError('The upstream asked for payment (402) but its payment requirements could not be read.', error, 'malformed_payment_required')
  }
}

/** A 402's body, bounded; unreadable counts as empty (the header may still carry the requirements). */
function readBody(response: Response): Promise<unknown> {
  return readSmallBody(response).catch(() => undefined)
}

/** Failures that happen before a connection exists: the request cannot have been sent. */
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT'])

function neverConnected(error: unknown): boolean {
  const code = (error as { cause?: { code?: unknown } } | undefined)?.cause?.code
  return typeof code === 'string' && NOT_CONNECTED.has(code)
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  const cause = (error as Error & { cause?: { code?: string; message?: string } }).cause
  return cause?.code ?? cause?.message ?? error.message
}
