/**
 * The payer: sends a request upstream and, when the upstream answers 402, pays once and resends.
 *
 *   402 → authorize (policy → budget reservation → sign, ledger fsync'd: authorize.ts) → paid
 *   request → outcome recorded (sent-payment.ts).
 *
 * A paid request is sent once: if its answer is lost, the outcome is recorded as unknown and
 * counted as spent, never re-signed. A 402 after paying means the upstream rejected that
 * authorization: it is recorded as refused. Two rounds at most per request: a pre-paid attempt
 * from cached requirements, refused, falls back to one ordinary round.
 *
 * Jobs are the one place a request signs again (`renew`): the gateway binds a 202 job to the
 * wallet and re-verifies the payment on every poll, so an authorization that expires before the
 * job completes is answered 402 on a poll; the gateway "enforces wallet binding, not signature
 * equality" (REFERENCE.md §1), and BlockRun's SDK re-signs with the same wallet at most twice.
 * Each renewal goes through the same policy, budget and ledger, and keeps the first
 * authorization's payee, network, asset and price.
 *
 * @see https://github.com/coinbase/x402/blob/main/specs/x402-specification.md
 */
import type { PaymentRequired } from '@x402/core/types'
import { ImagegenError, upstreamError } from '../errors.js'
import { formatUsd } from '../money.js'
import { Authorizer, type AuthorizerParameters, type PaymentContext } from './authorize.js'
import { balanceWithin, isFundsFailure, isStaleBlockhash, paymentFailure, readRefusal, summariseReasons, type PaymentFailureParameters } from './failure.js'
import { sameAddress, type KnownNetwork } from './networks.js'
import { choosePayment, type PaymentOption } from './policy.js'
import { RequirementsCache } from './requirements-cache.js'
import { sentPayment, type SentPayment } from './sent-payment.js'
import { readSmallBody } from '../upstream/small-body.js'
import { readPaymentRequired } from './x402.js'

export type { PaymentContext } from './authorize.js'
export type { PaymentReceipt, SentPayment } from './sent-payment.js'

/** Sends the request; `headers` carries the payment on the paid attempt. */
export type SendRequest = (headers: Record<string, string>) => Promise<Response>

export type PaidResponse = { response: Response; payment: SentPayment | undefined }

/**
 * A pre-paid attempt the upstream refused (`rejected`), or a Solana transfer it refused because
 * its blockhash went stale before it was verified (`stale`): `required` holds the 402's fresh
 * requirements when it had readable ones.
 */
type PaidAttempt = ({ kind: 'sent' } & PaidResponse) | { kind: 'rejected' | 'stale'; required: PaymentRequired | undefined }

/**
 * Authorizations one user request may sign: two rounds at most (a pre-paid attempt the upstream
 * refused, then one ordinary round), and a third only to renew a job that outlived its
 * authorization. BlockRun's SDK re-signs a job at most twice (MAX_POLL_RESIGNS), which fits.
 */
export const MAX_SIGNATURES_PER_REQUEST = 3

/** Refusals by a call's own ceilings (ceilings.ts), made after the policy allowed the requirements. */
const CEILING_REFUSALS: ReadonlySet<unknown> = new Set(['max_price_exceeded', 'confirmation_required'])

export type PayerParameters = AuthorizerParameters & {
  /**
   * Reads the wallet's USDC balance on a network, for payment error messages only (never on the
   * happy path). Bounded by `balanceTimeoutMs`.
   */
  readBalance?: ((network: KnownNetwork) => Promise<bigint | undefined>) | undefined
  balanceTimeoutMs?: number
}

export class Payer {
  private readonly authorizer: Authorizer
  private readonly requirements = new RequirementsCache()

  constructor(private readonly parameters: PayerParameters) {
    this.authorizer = new Authorizer(parameters)
  }

  get address(): `0x${string}` {
    return this.parameters.address
  }

  async send(send: SendRequest, context: PaymentContext): Promise<PaidResponse> {
    // A known route: pay on the first attempt. If the upstream still answers 402, that
    // authorization was refused (never settled), and one ordinary round follows: from that 402's
    // fresh requirements, or from an unpaid request when it carried none.
    let known = this.requirements.get(context)
    let required: PaymentRequired | undefined
    if (known) {
      const attempt = await this.pay(send, known, context, true).catch((error: unknown) => {
        // The call's max_price is under the remembered price: nothing was signed, and the
        // upstream's price may have dropped since. Ask it afresh.
        if ((error as { code?: unknown }).code !== 'max_price_exceeded') throw error
        this.requirements.delete(context)
        known = undefined
        return undefined
      })
      if (attempt?.kind === 'sent') return attempt
      required = attempt?.required
    }
    try {
      if (!required) {
        // No cached requirements, or a refusal that did not carry readable fresh ones: ask unpaid.
        const first = await sendOrThrow(send, {}, 'The upstream could not be reached')
        if (first.status !== 402) return { response: first, payment: undefined }
        required = await readRequirements(first)
      }
      // A Solana transfer refused in verification for a stale blockhash settled nothing: it is
      // signed again on a fresh blockhash, as BlockRun's SDK does (its stale-blockhash re-sign),
      // within the request's signatures (`pay` throws the refusal once none are left).
      for (let signatures = known ? 2 : 1; ; signatures++) {
        const attempt = await this.pay(send, required, context, false, signatures)
        if (attempt.kind === 'sent') return attempt
        // Only a pre-paid attempt comes back rejected; an ordinary one throws its refusal.
        if (attempt.kind !== 'stale') throw new Error('an ordinary payment attempt came back rejected')
        required = attempt.required ?? required
      }
    } catch (error) {
      // A refusal must say what happened: the pre-paid authorization was signed and refused.
      throw known ? afterRefusedAttempt(error) : error
    }
  }

  /**
   * The price of a request, without signing: the payer's first half. Fresh cached requirements
   * answer it with no upstream request; otherwise one unpaid request gets the 402. Requirements
   * the policy allows are remembered, so the paid call that follows a quote pays on its first
   * attempt, at the price quoted. `answered` is the upstream's answer when it did not ask for
   * payment at all (an error, or work done for free).
   */
  async quote(send: SendRequest, context: PaymentContext): Promise<{ kind: 'priced'; required: PaymentRequired; cached: boolean } | { kind: 'answered'; response: Response }> {
    const cached = this.requirements.get(context)
    if (cached) return { kind: 'priced', required: cached, cached: true }
    const first = await sendOrThrow(send, {}, 'The upstream could not be reached')
    if (first.status !== 402) return { kind: 'answered', response: first }
    const required = await readRequirements(first)
    if (choosePayment(required, this.parameters.policy).allowed) this.requirements.set(context, required)
    return { kind: 'priced', required, cached: false }
  }

  /**
   * A fresh authorization for a job whose current one the upstream refused on a poll (it expired
   * before the job completed). `refusal` is what the poll's 402 said: its reasons, and the
   * requirements to sign (without readable ones the previous requirements are signed again). The
   * previous authorization is recorded as refused. Throws, signing nothing, when the wallet is
   * short of funds, past MAX_SIGNATURES_PER_REQUEST, or when the upstream changed the payee,
   * network or asset or raised the price mid-job.
   */
  async renew(previous: SentPayment, refusal: { reasons: readonly string[]; required: PaymentRequired | undefined }, context: PaymentContext): Promise<SentPayment> {
    await previous.refused(`refused on a poll of its job: ${summariseReasons(refusal.reasons)}`)
    if (isFundsFailure(refusal.reasons)) {
      const { option } = previous
      throw await this.failure({ reasons: refusal.reasons, wallet: this.payerOn(option), network: option.network, amount: option.amount })
    }
    if (previous.signatures >= MAX_SIGNATURES_PER_REQUEST) {
      throw upstreamError(
        `The upstream refused the job's payment on a poll again; it was not signed a ${ordinal(previous.signatures + 1)} time (at most ${MAX_SIGNATURES_PER_REQUEST} authorizations per request). ` +
          'Every authorization is recorded in the ledger and counts against the budget until the chain shows it unused.',
        undefined,
        'job_payment_refused',
      )
    }
    const authorization = await this.authorizer.authorize({
      required: refusal.required ?? previous.required,
      context,
      replaces: previous.id,
      accept: (option) => keepsTerms(previous.option, option),
    })
    return this.sent(authorization, previous.signatures + 1)
  }

  /**
   * One paid attempt. `prepaid` marks an attempt made from cached requirements: its rejection is
   * returned (with the fresh requirements, when the 402 carried readable ones) instead of thrown.
   */
  private async pay(send: SendRequest, required: PaymentRequired, context: PaymentContext, prepaid: boolean, signatures = 1): Promise<PaidAttempt> {
    const { ledger } = this.parameters
    // Every attempt after the first builds on fresh chain state (Solana: a new blockhash).
    const authorization = await this.authorizer.authorize({ required, context, fresh: signatures > 1 }).catch((error: unknown) => {
      // Refused by the call's own ceilings (max_price, consent), the policy allowed these
      // requirements: remembered, so the quote and the paid call that follow ask nothing again.
      if (!prepaid && CEILING_REFUSALS.has((error as { code?: unknown }).code)) this.requirements.set(context, required)
      throw error
    })
    const { id, option, headers } = authorization
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

    // Only a fresh 402 refreshes the cache, so a route in steady use still expires; and only
    // requirements that the policy allowed, that signed, and whose payment the upstream did not
    // refuse are kept (an upstream refusing everything must not make every request sign twice).
    if (!prepaid && response.status !== 402) this.requirements.set(context, required)

    if (response.status === 402) {
      const { reasons, required: fresh } = await readRefusal(response)
      await ledger.closed(id, 'refused', summariseReasons(reasons))
      // Whatever happens next, requirements the upstream just refused are not used again.
      if (prepaid) this.requirements.delete(context)
      // A rejected pre-paid attempt falls back to one ordinary round (with the 402's own fresh
      // requirements when it had readable ones, else by asking unpaid), unless no new payment
      // could succeed either.
      const freshRequired = fresh && Array.isArray(fresh.accepts) ? fresh : undefined
      if (prepaid && !isFundsFailure(reasons)) return { kind: 'rejected', required: freshRequired }
      if (option.network.chain === 'solana' && isStaleBlockhash(reasons) && signatures < MAX_SIGNATURES_PER_REQUEST) return { kind: 'stale', required: freshRequired }
      throw await this.failure({ reasons, wallet: this.payerOn(option), network: option.network, amount: option.amount })
    }
    return { kind: 'sent', response, payment: this.sent(authorization, signatures) }
  }

  private sent(authorization: Parameters<typeof sentPayment>[0]['authorization'], signatures: number): SentPayment {
    return sentPayment({ authorization, ledger: this.parameters.ledger, payer: this.payerOn(authorization.option), signatures, failure: (parameters) => this.failure(parameters) })
  }

  /** The wallet's address on the option's chain: the one that signed, and the one to fund. */
  private payerOn(option: PaymentOption): string {
    return this.authorizer.addressOn(option.network.chain) ?? this.parameters.address
  }

  /** A payment error with the wallet's balance on that network, read within a short bound. */
  private async failure(parameters: PaymentFailureParameters): Promise<ImagegenError> {
    const { readBalance, balanceTimeoutMs } = this.parameters
    const network = parameters.network
    const balance = await balanceWithin(readBalance && network ? () => readBalance(network) : undefined, balanceTimeoutMs)
    return paymentFailure({ ...parameters, balance })
  }
}

function ordinal(n: number): string {
  return ['zeroth', 'first', 'second', 'third', 'fourth'][n] ?? `${n}th`
}

/**
 * The error of a second round that follows a refused pre-paid attempt: a "nothing was signed" in
 * it would be false, since the first authorization was signed (and is in the ledger, refused).
 */
function afterRefusedAttempt(error: unknown): unknown {
  if (!(error instanceof ImagegenError) || !/nothing was signed/i.test(error.message)) return error
  const message = error.message.replace(
    /nothing was signed/i,
    (match) => `${match[0]}othing more was signed (an earlier authorization for this request, made from the price the upstream quoted before, was refused by it and is recorded in the ledger)`,
  )
  return new ImagegenError({ status: error.status, type: error.type, message, param: error.param, code: error.code, cause: error.cause })
}

/** A renewal pays the same party the same (or a lower) price on the same network and asset. */
function keepsTerms(previous: PaymentOption, next: PaymentOption): void {
  const same =
    next.network === previous.network && sameAddress(next.asset, previous.asset) && sameAddress(next.payTo, previous.payTo) && next.amount <= previous.amount
  if (same) return
  throw new ImagegenError({
    status: 402,
    type: 'payment_not_allowed',
    code: 'job_terms_changed',
    message:
      `The upstream asked to renew the job's payment on different terms (${formatUsd(next.amount)} to ${next.payTo} on ${next.network.caip2}, ` +
      `where the job was paid at ${formatUsd(previous.amount)} to ${previous.payTo} on ${previous.network.caip2}), so nothing new was signed.`,
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

/** The requirements of a 402 (header or body), or a 502 saying they could not be read. */
export async function readRequirements(response: Response): Promise<PaymentRequired> {
  const body = await readSmallBody(response).catch(() => undefined)
  try {
    const required = await readPaymentRequired((name) => response.headers.get(name), body)
    if (!Array.isArray(required.accepts)) throw new Error('no accepts list')
    return required
  } catch (error) {
    throw upstreamError('The upstream asked for payment (402) but its payment requirements could not be read.', error, 'malformed_payment_required')
  }
}

/** Failures that happen before a connection exists: the request cannot have been sent. */
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT'])

/**
 * Whether the request can never have been sent: the socket never connected (http-client.ts marks
 * that), with an error code of a connection not made. A code alone is not enough: on an
 * established socket Linux reports EHOSTUNREACH once retransmissions of a sent request time out.
 */
function neverConnected(error: unknown): boolean {
  const failure = error as { connected?: unknown; cause?: { code?: unknown } } | undefined
  const code = failure?.cause?.code
  return failure?.connected === false && typeof code === 'string' && NOT_CONNECTED.has(code)
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  const cause = (error as Error & { cause?: { code?: string; message?: string } }).cause
  return cause?.code ?? cause?.message ?? error.message
}
