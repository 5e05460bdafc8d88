/**
 * Follows a job the gateway accepted (a 202, or a 200 whose `status` is still pending) to its end,
 * the way BlockRun's gateway expects (REFERENCE.md §1, BlockRun's SDK `pollImageJob`):
 *
 * - every poll carries the payment of the paid request (`PAYMENT-SIGNATURE`, and `X-PAYMENT` as
 *   the SDK sends it too): the gateway binds the job to the payer and re-verifies on each poll;
 * - pending: HTTP 202, or `status` queued/in_progress (on a 200 too); done: `completed` with
 *   `data`, and the payment settles on that first completed poll; failed: `failed` with `error`;
 * - a 402 on a poll means the authorization expired before the job finished: the payer renews it
 *   with the same wallet (policy, budget and ledger again; at most twice), never after a poll
 *   whose answer was lost (that poll may have been the completing one, which settled);
 * - cadence as BlockRun's clients: a first short wait, then a fixed interval, never faster;
 * - a caller that goes away (or the deadline) stops polling at once: the job is abandoned and an
 *   honest gateway settles nothing for it.
 *
 * Every way out of here records the payment's outcome; the payer's records decide nothing here.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { PaymentRequired } from '@x402/core/types'
import { upstreamError } from '../errors.js'
import { isFundsFailure, readRefusal } from '../payment/failure.js'
import type { PaymentContext, Payer, SentPayment } from '../payment/payer.js'
import { RefusedAddressError } from '../inputs/guarded-lookup.js'
import { FAILED_STATUSES, jobFailed, PENDING_STATUSES, readJson, refusalOf, refusedByUpstream, statusOf } from './answers.js'
import { upstreamFetch } from './http-client.js'
import { takeImages, type DecodedImage, type UpstreamImage } from './images.js'
import type { PollTarget } from './poll-url.js'
import { readPaidResult } from './paid-result.js'
import type { ImageSink } from './result-body.js'
import type { PaymentReceipt } from '../payment/sent-payment.js'

export type JobTiming = {
  /** Wait before the first poll (ClawRouter: 2 s). */
  firstPollMs: number
  /** Wait between polls (BlockRun's SDK and ClawRouter: 3 s). */
  pollIntervalMs: number
}

export type FollowJobParameters = {
  target: PollTarget
  payment: SentPayment | undefined
  payer: Payer
  /** Where the completed poll's images go, by entry index (result-limits.ts). */
  openSink: (index: number) => ImageSink<DecodedImage>
  timing: JobTiming
  context: PaymentContext & { signal: AbortSignal; onProgress?: ((message: string) => void) | undefined }
}

export type JobResult = { images: UpstreamImage[]; payment: PaymentReceipt | undefined }

/** Poll answers in a row that say nothing about the job (transport errors, 5xx, 404, 408, 429) before giving up. */
const MAX_UNANSWERED_POLLS = 5
const RETRY_POLL_STATUSES: ReadonlySet<number> = new Set([404, 408, 429])

export async function followJob({ target, payment: first, payer, openSink, timing, context }: FollowJobParameters): Promise<JobResult> {
  const { signal } = context
  let payment = first
  const started = Date.now()
  /** A poll went out and its answer never came: if it was the completing one, the gateway settled. */
  let possiblySettled = false
  let inFlight = false
  let unanswered = 0
  let wait = timing.firstPollMs
  const poll = async (headers: Record<string, string>) => {
    inFlight = true
    try {
      return await upstreamFetch(target.url, { headers: { accept: 'application/json', ...headers }, signal, lookup: target.lookup })
    } finally {
      inFlight = false
    }
  }
  try {
    for (;;) {
      await sleep(wait, undefined, { signal })
      wait = timing.pollIntervalMs
      let response: Response
      try {
        response = await poll(paymentHeaders(payment))
      } catch (error) {
        if (signal.aborted) throw error
        const refused = refusedAddress(error)
        if (refused) throw upstreamError(`The upstream's poll_url ${target.url.origin} was refused: ${refused.message}.`, error, 'poll_url_refused')
        possiblySettled = true
        if (++unanswered > MAX_UNANSWERED_POLLS) throw upstreamError(`The upstream's job could not be polled (${describe(error)}).`, error, 'job_unreachable')
        continue
      }

      if (response.status === 402 && payment?.settled) {
        // Settled already (the ticket or an earlier poll showed it): never signed again.
        await response.body?.cancel().catch(() => {})
        throw upstreamError(`The upstream refused a poll of a job whose payment already settled (${charged(payment)}); nothing new was signed.`, undefined, 'job_payment_refused')
      }
      if (response.status === 402 && payment) {
        payment = await renewed(response, payment)
        // The fresh authorization is presented at once: the job may be done already.
        wait = 0
        continue
      }
      if (response.status === 402) throw upstreamError('The upstream asked for payment to poll a job it accepted without one.', undefined, 'job_payment_required')

      if (response.status === 202 || !response.ok) {
        const body = await readJson(response).catch(() => undefined)
        const said = statusOf(body)
        if (response.status === 202 || (said && PENDING_STATUSES.has(said))) {
          unanswered = 0
          progress(said ?? 'queued')
          continue
        }
        // A verdict ends the job: an explicit failure, or a 4xx saying the request is wrong.
        if ((said && FAILED_STATUSES.has(said)) || (response.status < 500 && !RETRY_POLL_STATUSES.has(response.status))) {
          // After a poll whose answer was lost, the job may have completed and settled on that one.
          if (possiblySettled && payment && !payment.recorded) await payment.lost(`job ended (HTTP ${response.status}) after a poll whose answer was lost`)
          const paid = payment?.settled ?? (await payment?.failed(response, `job failed (HTTP ${response.status})`))
          throw jobFailed(body, response.status, paid ? charged(payment!) : possiblySettled ? 'possibly: an earlier poll was lost, the payment is recorded as unknown' : undefined)
        }
        // 5xx, 404, 408, 429 without a verdict: the job may well be running still.
        if (++unanswered > MAX_UNANSWERED_POLLS) throw upstreamError(`The upstream's job status kept failing (HTTP ${response.status}).`, undefined, 'job_unreachable')
        progress(said ?? `HTTP ${response.status}`)
        continue
      }

      // A 200: a completed poll carries the images, read as a result (streamed to the store). If
      // its body breaks off, it may have been the completing poll: the gateway settled on it.
      unanswered = 0
      const lostBefore: boolean = possiblySettled
      possiblySettled = true
      const { result, settled } = await readPaidResult(response, payment, openSink)
      possiblySettled = lostBefore
      const said = statusOf(result.value)
      const data = (result.value as { data?: unknown } | undefined)?.data
      const hasImages = Array.isArray(data) && data.length > 0
      if (said && PENDING_STATUSES.has(said) && !hasImages) {
        await result.discard()
        progress(said)
        continue
      }
      if ((said && FAILED_STATUSES.has(said)) || !hasImages) {
        await result.discard()
        const refusal = said && FAILED_STATUSES.has(said) ? undefined : refusalOf(result.value)
        const outcome = settled ?? (await payment?.failed(response, refusal ? `refused: ${refusal}` : `job ${said ?? 'ended'} without images`))
        const paid = outcome && charged(payment!)
        throw refusal ? refusedByUpstream(refusal, paid) : jobFailed(result.value, response.status, paid)
      }
      let receipt: PaymentReceipt | undefined
      try {
        receipt = settled ?? (payment ? await payment.finish(response) : undefined)
      } catch (error) {
        await result.discard()
        throw error
      }
      return { images: await takeImages(result, context.n), payment: receipt }
    }
  } catch (error) {
    if (payment && !payment.recorded) {
      // A poll cut off mid-flight may have been the completing one; otherwise nothing was collected.
      if (possiblySettled || inFlight) await payment.lost(`job left after a poll whose answer was lost: ${describe(error)}`)
      // A poll_url we refuse to follow comes from an upstream that holds a verified authorization
      // and steers us elsewhere: assume the worst (SECURITY.md).
      else if ((error as { code?: unknown }).code === 'poll_url_refused') await payment.lost(`poll_url refused: ${describe(error)}`)
      else await payment.abandoned(signal.aborted ? 'the caller went away or the deadline passed before the job completed' : `job abandoned: ${describe(error)}`)
    }
    throw error
  }

  function progress(status: string) {
    context.onProgress?.(`waiting for ${context.model} (${status.replace(/_/g, ' ')}), ${Math.round((Date.now() - started) / 1000)} s`)
  }

  /** A fresh authorization after a poll's 402, or the reason there is none. */
  async function renewed(response: Response, current: SentPayment): Promise<SentPayment> {
    const { reasons, required } = await readRefusal(response)
    if (possiblySettled) {
      await current.lost('a poll was answered 402 after an earlier poll was lost: that one may have completed and settled')
      throw upstreamError(
        "The upstream refused the job's payment after an earlier poll was lost in transit. That poll may have settled it, so nothing new was signed; the payment is recorded as unknown.",
        undefined,
        'job_payment_refused',
      )
    }
    const fresh = usable(required) ?? (isFundsFailure(reasons) ? undefined : await challenge())
    context.onProgress?.('the job outlived its payment authorization; signing a fresh one with the same wallet')
    return payer.renew(current, { reasons, required: fresh }, context)
  }

  /** The requirements of an unpaid poll (BlockRun's SDK asks so when a poll's 402 carries none). */
  async function challenge(): Promise<PaymentRequired | undefined> {
    const answer = await poll({})
    if (answer.status !== 402) {
      await answer.body?.cancel().catch(() => {})
      return undefined
    }
    return usable((await readRefusal(answer)).required)
  }
}

/** "$0.0535, tx 0x…": what a settled payment cost, for messages. */
function charged(payment: SentPayment): string {
  const receipt = payment.settled
  return receipt ? `${receipt.usd}, tx ${receipt.transaction}` : 'settled'
}

function usable(required: PaymentRequired | undefined): PaymentRequired | undefined {
  return required && Array.isArray(required.accepts) && required.accepts.length > 0 ? required : undefined
}

/**
 * The headers that carry the job's payment on a poll. BlockRun's SDK sends the same payload as
 * both `PAYMENT-SIGNATURE` (x402 v2) and `X-PAYMENT` (v1); a v1 payment has only the latter.
 */
function paymentHeaders(payment: SentPayment | undefined): Record<string, string> {
  if (!payment) return {}
  const value = payment.headers['PAYMENT-SIGNATURE'] ?? payment.headers['X-PAYMENT']
  if (!value) return { ...payment.headers }
  return payment.headers['PAYMENT-SIGNATURE'] ? { 'PAYMENT-SIGNATURE': value, 'X-PAYMENT': value } : { 'X-PAYMENT': value }
}

function refusedAddress(error: unknown): RefusedAddressError | undefined {
  const cause = (error as { cause?: unknown } | undefined)?.cause
  return cause instanceof RefusedAddressError ? cause : error instanceof RefusedAddressError ? error : undefined
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  const cause = (error as Error & { cause?: { code?: string; message?: string } }).cause
  return cause?.code ?? cause?.message ?? error.message
}
