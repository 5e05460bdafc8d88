/**
 * The BlockRun client: posts an image request through the payer, follows a `202` job to its end,
 * and hands back the images in whatever form the gateway chose (hosted URL, data URI, b64_json).
 * The sandbox upstream speaks the same protocol, so tests run this very code.
 *
 * Costs it keeps low: results are read as a stream and their base64 images decoded straight into
 * the image store (result-body.ts), big request bodies are sent without copies (request-body.ts),
 * and every request goes through http-client.ts, whose keep-alive agents keep connections to the
 * upstream open between requests (one TCP/TLS handshake per pooled socket, not per image).
 */
import type { PaymentRequired } from '@x402/core/types'
import { ImagegenError, upstreamError } from '../errors.js'
import type { PaymentContext, PaymentReceipt, Payer, SentPayment } from '../payment/payer.js'
import { hasSettlementEvidence } from '../payment/x402.js'
import type { ImageTags, StoredImage } from '../store/images.js'
import { describeError, PENDING_STATUSES, readJson, refusalOf, refusedByUpstream, statusOf } from './answers.js'
import { upstreamFetch } from './http-client.js'
import { memorySink, storedSink, takeImages, type DecodedImage, type UpstreamImage } from './images.js'
import { followJob, type JobTiming } from './job.js'
import { pollTarget } from './poll-url.js'
import { readPaidResult } from './paid-result.js'
import { limitedSinks } from './result-limits.js'
import { encodeJsonBody } from './request-body.js'
import type { ImageSink } from './result-body.js'

export type { ImageSink } from './result-body.js'
export type { UpstreamImage } from './images.js'

export type UpstreamRoute = '/v1/images/generations' | '/v1/images/image2image'

export type UpstreamResult = {
  images: UpstreamImage[]
  payment: PaymentReceipt | undefined
}

export type UpstreamProgress = (message: string) => void

export type UpstreamClientParameters = {
  baseUrl: string
  payer: Payer
  /** Job polling cadence (default: BlockRun's clients', 2 s then every 3 s). */
  timing?: Partial<JobTiming>
  /** Settings.allowPrivateUrls, for a poll_url on another origin. */
  allowPrivateUrls?: boolean
  /**
   * Where decoded images go as they arrive (normally `store.writer()`); without it they are
   * collected in memory and returned as bytes.
   */
  images?: (tags: ImageTags | undefined) => ImageSink<StoredImage>
  /** Bytes one result image may have (default 100 MB); a request's answer may hold `n` of them. */
  maxImageBytes?: number
}

/** The default per-image cap: a 4096x4096 PNG of pure noise is about 50 MB. */
const MAX_IMAGE_BYTES = 100 * 1024 * 1024

/** `tags` go into each stored image's metadata (the model and the receipt id). */
type CallContext = PaymentContext & { signal: AbortSignal; onProgress?: UpstreamProgress; tags?: ImageTags | undefined }

export class UpstreamClient {
  readonly baseUrl: string
  private readonly payer: Payer
  private readonly timing: JobTiming
  private readonly allowPrivateUrls: boolean
  private readonly openSink: (tags: ImageTags | undefined) => ImageSink<DecodedImage>
  readonly maxImageBytes: number

  constructor({ baseUrl, payer, timing, allowPrivateUrls = false, images, maxImageBytes = MAX_IMAGE_BYTES }: UpstreamClientParameters) {
    this.maxImageBytes = maxImageBytes
    this.baseUrl = baseUrl
    this.payer = payer
    this.timing = { firstPollMs: timing?.firstPollMs ?? 2000, pollIntervalMs: timing?.pollIntervalMs ?? 3000 }
    this.allowPrivateUrls = allowPrivateUrls
    this.openSink = images ? (tags) => storedSink(images(tags)) : memorySink
  }

  /**
   * What the upstream asks for this request, without paying: the payer's quote (cached
   * requirements, or one unpaid request). An upstream that refuses the request itself (a 4xx, a
   * 5xx) is reported as for a paid call; one that answers without asking for payment is free.
   */
  async quote(route: UpstreamRoute, body: unknown, context: PaymentContext & { signal: AbortSignal }): Promise<{ required: PaymentRequired; cached: boolean } | { free: true }> {
    const answer = await this.payer.quote(this.sender(route, body, context.signal), context).catch((error: unknown) => {
      throw namingUrl(error, `${this.baseUrl}${route}`)
    })
    if (answer.kind === 'priced') return answer
    const { response } = answer
    if (response.ok) {
      await response.body?.cancel().catch(() => {})
      return { free: true }
    }
    throw errorFromUpstream(response.status, await readJson(response).catch(() => undefined))
  }

  /** `signal` should carry the caller's cancellation and the overall deadline. */
  async post(route: UpstreamRoute, body: unknown, context: CallContext): Promise<UpstreamResult> {
    const url = `${this.baseUrl}${route}`
    const send = this.sender(route, body, context.signal)
    const { response, payment } = await this.payer.send(send, context).catch((error: unknown) => {
      throw namingUrl(error, url)
    })
    // This answer's images go to disk under limits the upstream cannot raise (result-limits.ts).
    const sinks = limitedSinks(() => this.openSink(context.tags), { images: context.n, bytesPerImage: this.maxImageBytes })
    try {
      if (response.status === 202) {
        // A ticket that already shows the settlement: recorded now, so the job is never renewed
        // and its end is reported as charged, whatever happens next.
        if (payment && hasSettlementEvidence(response.headers)) await payment.finish(response)
        return await this.job(await readJson(response), payment, sinks, context)
      }
      return await this.finish(response, payment, sinks, context)
    } catch (error) {
      // Whatever went wrong after the paid request left, the ledger gets an outcome (a no-op
      // when one was already recorded).
      await payment?.lost(`after payment: ${error instanceof Error ? error.message.slice(0, 200) : String(error)}`)
      throw error
    }
  }

  /** Sends the request body, with `headers` (the payment on a paid attempt). */
  private sender(route: UpstreamRoute, body: unknown, signal: AbortSignal) {
    const url = `${this.baseUrl}${route}`
    // Encoded once; each attempt (a 402 round has two) gets a fresh body over the same strings.
    const payload = encodeJsonBody(body)
    return (headers: Record<string, string>) => {
      const content = payload.open()
      const streamed = typeof content !== 'string'
      return upstreamFetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', ...(streamed ? { 'content-length': String(payload.length) } : {}), ...headers },
        body: content,
        signal,
      })
    }
  }

  private async finish(response: Response, payment: SentPayment | undefined, sinks: (index: number) => ImageSink<DecodedImage>, context: CallContext): Promise<UpstreamResult> {
    if (!response.ok) {
      if (payment) await payment.finish(response)
      throw errorFromUpstream(response.status, await readJson(response))
    }
    const { result, settled } = await readPaidResult(response, payment, sinks)
    const data = (result.value as { data?: unknown } | undefined)?.data
    const hasImages = Array.isArray(data) && data.length > 0
    const said = statusOf(result.value)
    // BlockRun's SDK treats a 200 whose status is still pending as a job, like a 202.
    if (!hasImages && said && PENDING_STATUSES.has(said)) {
      await result.discard()
      return this.job(result.value, payment, sinks, context)
    }
    const refusal = hasImages ? undefined : refusalOf(result.value)
    if (refusal) {
      await result.discard()
      const charged = settled ?? (await payment?.failed(response, `refused: ${refusal}`))
      throw refusedByUpstream(refusal, charged?.status === 'settled' ? `${charged.usd}, tx ${charged.transaction}` : undefined)
    }
    const receipt = settled ?? (payment ? await payment.finish(response).catch(async (error: unknown) => {
      await result.discard()
      throw error
    }) : undefined)
    return { images: await takeImages(result, context.n), payment: receipt }
  }

  private async job(ticket: unknown, payment: SentPayment | undefined, sinks: (index: number) => ImageSink<DecodedImage>, context: CallContext): Promise<UpstreamResult> {
    const target = pollTarget({ pollUrl: (ticket as { poll_url?: unknown } | undefined)?.poll_url, baseUrl: this.baseUrl, allowPrivate: this.allowPrivateUrls })
    return followJob({ target, payment, payer: this.payer, openSink: sinks, timing: this.timing, context })
  }
}

/** Errors of a request that did not reach the upstream, or whose answer was lost: they say where it went. */
const TRANSPORT_CODES: ReadonlySet<string> = new Set(['upstream_unreachable', 'upstream_lost'])

/** "The upstream could not be reached" → "The upstream at https://… could not be reached": a wrong URL shows at once. */
function namingUrl(error: unknown, url: string): unknown {
  if (!(error instanceof ImagegenError) || !TRANSPORT_CODES.has(error.code ?? '') || error.message.includes(url)) return error
  const message = error.message.replace(/^The (paid request to the )?upstream\b/, (match) => `${match} at ${url}`)
  return new ImagegenError({ status: error.status, type: error.type, message, param: error.param, code: error.code, cause: error.cause })
}

/** A non-2xx upstream answer: its 4xx are the caller's problem (400), the rest ours (502). */
function errorFromUpstream(status: number, body: unknown): ImagegenError {
  const detail = describeError(body)
  if (status >= 400 && status < 500 && status !== 408 && status !== 429) {
    return new ImagegenError({ status: 400, type: 'invalid_request_error', code: 'upstream_rejected', message: `The upstream rejected the request: ${detail || `HTTP ${status}`}.` })
  }
  return upstreamError(`The upstream failed (HTTP ${status})${detail ? `: ${detail}` : ''}.`)
}
