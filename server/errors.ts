/**
 * One error type for the whole pipeline. It carries what the HTTP layer needs to answer in the
 * OpenAI error shape (`{"error":{"message","type","param","code"}}`), and what the MCP and
 * OpenClaw tools show unchanged to the agent.
 *
 * @see https://platform.openai.com/docs/guides/error-codes
 */
export type ImagegenErrorType =
  | 'invalid_request_error'
  | 'not_found_error'
  | 'insufficient_funds'
  | 'payment_failed'
  | 'payment_not_allowed'
  | 'spend_limit_exceeded'
  | 'upstream_error'
  | 'timeout_error'
  | 'cancelled'
  | 'server_error'

export type ImagegenErrorParameters = {
  status: number
  type: ImagegenErrorType
  message: string
  param?: string | null | undefined
  code?: string | null | undefined
  cause?: unknown
}

export class ImagegenError extends Error {
  override name = 'ImagegenError'
  readonly status: number
  readonly type: ImagegenErrorType
  readonly param: string | null
  readonly code: string | null

  constructor({ status, type, message, param, code, cause }: ImagegenErrorParameters) {
    super(message, cause === undefined ? undefined : { cause })
    this.status = status
    this.type = type
    this.param = param ?? null
    this.code = code ?? null
  }

  /** The OpenAI error body. */
  toJSON(): OpenAIErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } }
  }
}

export type OpenAIErrorBody = {
  error: { message: string; type: string; param: string | null; code: string | null }
}

/** A 400 for input we refuse before anything is paid. */
export function invalidRequest(message: string, param?: string, code = 'invalid_value'): ImagegenError {
  return new ImagegenError({ status: 400, type: 'invalid_request_error', message, param, code })
}

/** A 502 for an upstream that misbehaved (bad body, reset, unexpected status). */
export function upstreamError(message: string, cause?: unknown, code = 'upstream_error'): ImagegenError {
  return new ImagegenError({ status: 502, type: 'upstream_error', message, code, cause })
}

/** Normalises anything thrown into an ImagegenError without leaking internals to the caller. */
export function toImagegenError(error: unknown): ImagegenError {
  if (error instanceof ImagegenError) return error
  if (error instanceof Error && error.name === 'AbortError')
    return new ImagegenError({ status: 499, type: 'cancelled', message: 'The request was cancelled.', code: 'cancelled' })
  if (error instanceof Error && error.name === 'TimeoutError')
    return new ImagegenError({ status: 504, type: 'timeout_error', message: 'The upstream did not answer in time.', code: 'timeout' })
  return new ImagegenError({
    status: 500,
    type: 'server_error',
    message: 'Internal error in the image proxy.',
    code: 'internal_error',
    cause: error,
  })
}
