/**
 * What a failed request tells its caller about money. Every failure names what it cost: nothing
 * (refused before signing, a job abandoned before any poll collected it), or the payment that
 * settled or may have settled and where any image already saved is, so a user never pays without
 * knowing it.
 */
import { ImagegenError, toImagegenError } from './errors.js'
import { formatUsd } from './money.js'
import type { PaymentRecord } from './payment/ledger.js'
import type { ResolvedJob } from './resolve.js'

/** The ledger's lines, read when a failure needs them (a read error counts as no lines). */
export type PaymentLines = () => Promise<PaymentRecord[]>

/**
 * A failure after this request paid (the upstream failed after settling, the answer broke off, an
 * image could not be downloaded or stored) says what was charged and where any saved image is.
 * Errors that already account for the payment (they name the ledger) are left as they are.
 */
export async function withPaymentOutcome(error: unknown, { requestId, saved, payments }: { requestId: string; saved: readonly { path: string }[]; payments: PaymentLines }): Promise<unknown> {
  const mapped = toImagegenError(error)
  if (/ledger/i.test(mapped.message)) return error
  const charged = (await payments().catch(() => [])).filter((r) => r.requestId === requestId && (r.status === 'settled' || r.status === 'unknown'))
  if (!charged.length && !saved.length) return error
  const paid = charged.map((r) =>
    r.status === 'settled' ? `${formatUsd(r.amount)} USDC on ${r.network} was paid${r.transaction ? ` (tx ${r.transaction})` : ''}` : `${formatUsd(r.amount)} USDC on ${r.network} may have been paid (its settlement is unconfirmed)`,
  )
  const where = saved.length ? ` Saved before the failure: ${saved.map((image) => image.path).join(', ')}.` : ''
  const message = `${mapped.message}${paid.length ? ` For this request ${paid.join('; ')}; it is recorded in the ledger (imagegen usage).` : ''}${where}`
  return new ImagegenError({ status: mapped.status, type: mapped.type, message, param: mapped.param, code: mapped.code, cause: error })
}

/**
 * The request's deadline passed. What it interrupted decides what is true to say: an abandoned
 * job is not charged (BlockRun settles a job only when a poll collects it), but a paid answer still
 * in flight may have settled, which withPaymentOutcome then adds.
 */
export async function deadlineFailure({ requestId, model, timeoutMs, payments }: { requestId: string; model: string; timeoutMs: number; payments: PaymentLines }): Promise<ImagegenError> {
  const outcomes = (await payments().catch(() => [])).filter((record) => record.requestId === requestId)
  const abandoned = outcomes.some((record) => record.status === 'abandoned') && !outcomes.some((record) => record.status === 'settled' || record.status === 'unknown')
  return new ImagegenError({
    status: 504,
    type: 'timeout_error',
    code: 'upstream_timeout',
    message:
      `${model} did not finish within ${Math.round(timeoutMs / 1000)} s. ` +
      (abandoned ? 'The job still running was abandoned: BlockRun settles a job only when a poll collects it, so it is not charged. ' : '') +
      'Try again or raise BLOCKRUN_TIMEOUT_SECONDS.',
  })
}

/**
 * A per-request cap refusal, told what n has to do with it: when one image fits under the cap and
 * the n asked for does not, the message says how many fit.
 */
export function withCountAdvice(error: ImagegenError, job: ResolvedJob, cap: bigint): ImagegenError {
  const one = job.estimate && job.n > 1 ? job.estimate.perImage + job.estimate.fee : undefined
  if (one === undefined || one > cap) return error
  const fit = Number((cap - job.estimate!.fee) / job.estimate!.perImage)
  const advice = ` It is n = ${job.n} that takes it over: one ${job.model.id} image at ${job.size} is about ${formatUsd(one)}, so up to ${fit} fit under the cap in one request; ask for ${fit === 1 ? 'one' : `${fit} or fewer`}, or make several requests.`
  return new ImagegenError({ status: error.status, type: error.type, message: `${error.message}${advice}`, param: error.param, code: error.code, cause: error })
}
