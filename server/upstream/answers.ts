/**
 * Reading the upstream's small JSON answers (errors, job tickets, polls in progress, moderation
 * refusals) into what the client decides on. Images are read by result-body.ts and images.ts.
 */
import { ImagegenError, upstreamError } from '../errors.js'
import { BodyTooLargeError, readSmallBody } from './small-body.js'

/** Job states BlockRun's clients wait on (the SDK also knows `processing`). */
export const PENDING_STATUSES: ReadonlySet<string> = new Set(['queued', 'in_progress', 'processing', 'pending'])
/** Job states that end a job without images. */
export const FAILED_STATUSES: ReadonlySet<string> = new Set(['failed', 'error', 'cancelled', 'canceled', 'expired'])

/** Longest upstream text passed on to the user. */
const MAX_DETAIL_CHARS = 300

export async function readJson(response: Response): Promise<unknown> {
  let body: unknown
  try {
    body = await readSmallBody(response)
  } catch (error) {
    if (error instanceof BodyTooLargeError) throw upstreamError(error.message, error, 'bad_body')
    throw upstreamError('The upstream closed the connection in the middle of its answer.', error, 'upstream_truncated')
  }
  if (typeof body === 'string' && response.ok) throw upstreamError('The upstream answered with a body that is not JSON.', undefined, 'bad_body')
  return body
}

export function statusOf(body: unknown): string | undefined {
  const status = (body as { status?: unknown } | undefined)?.status
  return typeof status === 'string' ? status.toLowerCase() : undefined
}

/** The upstream's own words from an error body: `error` (a string or `{message}`), else `message`. */
export function describeError(body: unknown): string {
  if (typeof body === 'string') return body.slice(0, MAX_DETAIL_CHARS)
  const { error, message, details } = (body ?? {}) as { error?: unknown; message?: unknown; details?: unknown }
  const text =
    typeof error === 'string'
      ? error
      : typeof (error as { message?: unknown } | undefined)?.message === 'string'
        ? (error as { message: string }).message
        : typeof message === 'string'
          ? message
          : ''
  const detail = typeof details === 'string' && details && !text.includes(details) ? ` (${details})` : ''
  return `${text}${detail}`.slice(0, MAX_DETAIL_CHARS)
}

/**
 * A 200 that carries `error` or `message` and no images is a refusal (content moderation, a
 * quota), never an empty success (REFERENCE.md §1; Franklin surfaces these since 2026-05).
 * Returns the reason, or undefined when the body has images or says nothing.
 */
export function refusalOf(body: unknown): string | undefined {
  if (!body || typeof body !== 'object') return undefined
  const { data, error, message } = body as { data?: unknown; error?: unknown; message?: unknown }
  if (Array.isArray(data) && data.length > 0) return undefined
  if (error === undefined && message === undefined) return undefined
  return describeError(body) || 'the upstream answered without images'
}

/** The error for a refusal in a 200 (see refusalOf). */
export function refusedByUpstream(reason: string, charged: string | undefined): ImagegenError {
  return new ImagegenError({
    status: 400,
    type: 'invalid_request_error',
    code: 'upstream_refused',
    message: `The upstream refused to make the image: ${reason}.${charged ? ` It settled the payment anyway (${charged}); it is recorded in the ledger.` : ' Nothing was settled.'}`,
  })
}

/** A job that ended in failure; `charged` names a payment that settled anyway. */
export function jobFailed(body: unknown, httpStatus: number, charged?: string): ImagegenError {
  const settled = charged ? ` The payment settled anyway (${charged}); it is recorded in the ledger.` : ' Nothing was settled.'
  return upstreamError(`The upstream job failed: ${describeError(body) || `HTTP ${httpStatus}`}.${settled}`, undefined, 'job_failed')
}
