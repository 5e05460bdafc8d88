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
import { setTimeout as sleep } from 'node:timers/promises'
import { BodyTooLargeError, readSmallBody } from './small-body.js'
import { ImagegenError, upstreamError } from '../errors.js'
import type { PaymentContext, PaymentReceipt, Payer, SentPayment } from '../payment/payer.js'
import type { StoredImage } from '../store/images.js'
import { encodeJsonBody } from './request-body.js'
import { upstreamFetch } from './http-client.js'
import { readResultBody, type ImageSink, type ResultBody } from './result-body.js'

export type { ImageSink } from './result-body.js'


/** Longest revised prompt passed on. */
const MAX_REVISED_PROMPT_CHARS = 2000

/** Poll answers that say nothing about the job itself. */
const RETRY_POLL_STATUSES: ReadonlySet<number> = new Set([404, 408, 429])

export type UpstreamRoute = '/v1/images/generations' | '/v1/images/image2image'

/**
 * One image as the upstream gave it: already written to the store (when the client was given a
 * sink for images), decoded bytes (when not), or a URL still to download.
 */
export type UpstreamImage =
  | { kind: 'stored'; image: StoredImage; revisedPrompt?: string }
  | { kind: 'bytes'; data: Buffer; revisedPrompt?: string }
  | { kind: 'url'; url: string; revisedPrompt?: string }

type DecodedImage = { kind: 'stored'; image: StoredImage } | { kind: 'bytes'; data: Buffer }

export type UpstreamResult = {
  images: UpstreamImage[]
  payment: PaymentReceipt | undefined
}

export type UpstreamProgress = (message: string) => void

export type UpstreamClientParameters = {
  baseUrl: string
  payer: Payer
  /** Longest wait between polls; polling starts at a quarter of it and backs off. */
  pollIntervalMs?: number
  /**
   * Where decoded images go as they arrive (normally `store.writer()`); without it they are
   * collected in memory and returned as bytes.
   */
  images?: () => ImageSink<StoredImage>
}

type ResultItem = { url?: unknown; b64_json?: unknown; revised_prompt?: unknown }

export class UpstreamClient {
  readonly baseUrl: string
  private readonly payer: Payer
  private readonly pollIntervalMs: number
  private readonly openSink: () => ImageSink<DecodedImage>

  constructor({ baseUrl, payer, pollIntervalMs = 2000, images }: UpstreamClientParameters) {
    this.baseUrl = baseUrl
    this.payer = payer
    this.pollIntervalMs = pollIntervalMs
    this.openSink = images ? () => storedSink(images()) : memorySink
  }

  /** `signal` should carry the caller's cancellation and the overall deadline. */
  async post(route: UpstreamRoute, body: unknown, context: PaymentContext & { signal: AbortSignal; onProgress?: UpstreamProgress }): Promise<UpstreamResult> {
    const url = `${this.baseUrl}${route}`
    // Encoded once; each attempt (a 402 round has two) gets a fresh body over the same strings.
    const payload = encodeJsonBody(body)
    const send = (headers: Record<string, string>) => {
      const content = payload.open()
      const streamed = typeof content !== 'string'
      return upstreamFetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', ...(streamed ? { 'content-length': String(payload.length) } : {}), ...headers },
        body: content,
        signal: context.signal,
      })
    }
    const { response, payment } = await this.payer.send(send, context)
    try {
      if (response.status === 202) return await this.followJob(response, payment, context)
      return await this.finish(response, payment)
    } catch (error) {
      // Whatever went wrong after the paid request left, the ledger gets an outcome.
      await payment?.lost(`after payment: ${error instanceof Error ? error.message.slice(0, 200) : String(error)}`)
      throw error
    }
  }

  private async finish(response: Response, payment: SentPayment | undefined): Promise<UpstreamResult> {
    if (!response.ok) {
      if (payment) await payment.finish(response)
      throw errorFromUpstream(response.status, await readJson(response))
    }
    // The settlement is recorded (a durable ledger write) while the body streams to the store;
    // both are awaited before any outcome is decided, so the ledger never races the error path.
    const [settled, read] = await Promise.allSettled([payment ? payment.finish(response) : Promise.resolve(undefined), readResultBody(response, this.openSink)])
    if (settled.status === 'rejected') {
      if (read.status === 'fulfilled') await read.value.discard()
      throw settled.reason
    }
    if (read.status === 'rejected') throw read.reason
    return { images: await takeImages(read.value), payment: settled.value }
  }

  private async followJob(accepted: Response, payment: SentPayment | undefined, context: { signal: AbortSignal; onProgress?: UpstreamProgress; model: string }): Promise<UpstreamResult> {
    const job = (await readJson(accepted)) as { id?: unknown; poll_url?: unknown }
    if (typeof job.poll_url !== 'string' && typeof job.id !== 'string') throw upstreamError('The upstream accepted the job (202) but gave no poll_url.', undefined, 'bad_job')
    const pollUrl = new URL(typeof job.poll_url === 'string' ? job.poll_url : `v1/jobs/${String(job.id)}`, `${this.baseUrl}/`)
    if (pollUrl.protocol !== 'https:' && pollUrl.protocol !== 'http:') throw upstreamError('The upstream gave a poll_url that is not http(s).', undefined, 'bad_job')
    const started = Date.now()
    let transportFailures = 0
    // Fast jobs finish in well under a second; slow ones take minutes. Start short, back off.
    let interval = Math.max(50, this.pollIntervalMs / 8)
    const wait = async () => {
      await sleep(interval, undefined, { signal: context.signal })
      interval = Math.min(interval * 2, this.pollIntervalMs)
    }
    for (;;) {
      context.signal.throwIfAborted()
      let response: Response
      try {
        response = await upstreamFetch(pollUrl, { headers: { accept: 'application/json' }, signal: context.signal })
      } catch (error) {
        // Polling is free, so a dropped poll is retried; the deadline in `signal` bounds it.
        if (context.signal.aborted || ++transportFailures > 5) throw error
        await wait()
        continue
      }
      let status: string
      if (!response.ok) {
        const body = await readJson(response).catch(() => undefined)
        const said = statusOf(body)
        // A verdict ends the job: an explicit "failed", or a 4xx saying the request is wrong.
        if (said === 'failed' || (response.status < 500 && !RETRY_POLL_STATUSES.has(response.status))) {
          await payment?.failed(response, `job failed (HTTP ${response.status})`)
          throw jobFailed(body, response.status)
        }
        // 5xx, 408, 429, or a 404 with no verdict: the job may well be running still. Polling is
        // free, so poll again; a run of such answers ends the wait (and post() records the
        // payment's outcome as unknown).
        if (++transportFailures > 5) throw upstreamError(`The upstream's job status kept failing (HTTP ${response.status}).`, undefined, 'job_unreachable')
        status = said ?? `HTTP ${response.status}`
      } else {
        transportFailures = 0
        // A completed poll carries the images: read it as a result (streamed to the store).
        const result = await readResultBody(response, this.openSink)
        status = statusOf(result.value) ?? 'completed'
        if (status === 'completed') return this.finishJob(response, result, payment)
        await result.discard()
        if (status === 'failed') {
          await payment?.failed(response, 'job failed before completing')
          throw jobFailed(result.value, response.status)
        }
      }
      context.onProgress?.(`waiting for ${context.model} (${status}), ${Math.round((Date.now() - started) / 1000)} s`)
      await wait()
    }
  }

  private async finishJob(response: Response, result: ResultBody<DecodedImage>, payment: SentPayment | undefined): Promise<UpstreamResult> {
    let receipt: PaymentReceipt | undefined
    try {
      receipt = payment ? await payment.finish(response) : undefined
    } catch (error) {
      await result.discard()
      throw error
    }
    return { images: await takeImages(result), payment: receipt }
  }
}

/**
 * Picks each entry's image (b64_json first, then url) from a read result, commits the chosen
 * images to their sinks in order and drops everything else that was decoded.
 */
async function takeImages(result: ResultBody<DecodedImage>): Promise<UpstreamImage[]> {
  type Choice = { sink: ImageSink<DecodedImage>; revisedPrompt?: string } | { url: string; revisedPrompt?: string }
  const choices: Choice[] = []
  try {
    const data = (result.value as { data?: unknown } | undefined)?.data
    if (!Array.isArray(data) || data.length === 0) throw upstreamError('The upstream answered without any images.', undefined, 'no_images')
    data.forEach((item: ResultItem, index) => {
      // Revised prompts end up in tool results, which clients cap: keep them to a paragraph.
      const revisedPrompt = typeof item?.revised_prompt === 'string' ? item.revised_prompt.slice(0, MAX_REVISED_PROMPT_CHARS) : undefined
      const extra = revisedPrompt ? { revisedPrompt } : {}
      // Diverted strings read as null in the parsed document; their content is in `field`.
      const b64 = item?.b64_json === null ? result.field(index, 'b64_json') : undefined
      if (b64?.kind === 'image') return void choices.push({ sink: b64.sink, ...extra })
      const url = item?.url === null ? result.field(index, 'url') : undefined
      if (url?.kind === 'image') return void choices.push({ sink: url.sink, ...extra })
      if (url?.kind === 'text') {
        const parsed = URL.canParse(url.text) ? new URL(url.text) : undefined
        if (parsed && (parsed.protocol === 'https:' || parsed.protocol === 'http:')) return void choices.push({ url: parsed.href, ...extra })
      }
      throw upstreamError('The upstream returned an image entry with neither a usable url nor b64_json.', undefined, 'bad_image_entry')
    })
  } catch (error) {
    await result.discard()
    throw error
  }
  const chosen = new Set(choices.flatMap((choice) => ('sink' in choice ? [choice.sink] : [])))
  await result.discard(chosen)
  const images: UpstreamImage[] = []
  try {
    for (const choice of choices) {
      const extra = choice.revisedPrompt ? { revisedPrompt: choice.revisedPrompt } : {}
      if ('url' in choice) images.push({ kind: 'url', url: choice.url, ...extra })
      else {
        chosen.delete(choice.sink)
        images.push({ ...(await choice.sink.finish()), ...extra })
      }
    }
  } catch (error) {
    for (const sink of chosen) await sink.abort()
    throw error
  }
  return images
}

/** Images into the store as they are decoded. */
function storedSink(writer: ImageSink<StoredImage>): ImageSink<DecodedImage> {
  return {
    write: (chunk) => writer.write(chunk),
    finish: async () => ({ kind: 'stored', image: await writer.finish() }),
    abort: () => writer.abort(),
  }
}

/** Images collected in memory (a client built without a store). */
function memorySink(): ImageSink<DecodedImage> {
  let chunks: Uint8Array[] = []
  return {
    write: async (chunk) => void chunks.push(chunk),
    finish: async () => {
      const data = Buffer.concat(chunks)
      chunks = []
      if (data.length === 0) throw upstreamError('The upstream returned empty image data.', undefined, 'bad_image_entry')
      return { kind: 'bytes', data }
    },
    abort: async () => void (chunks = []),
  }
}

function statusOf(body: unknown): string | undefined {
  const status = (body as { status?: unknown } | undefined)?.status
  return typeof status === 'string' ? status : undefined
}

function jobFailed(body: unknown, httpStatus: number): ImagegenError {
  return upstreamError(`The upstream job failed: ${describeError(body) || `HTTP ${httpStatus}`}.`, undefined, 'job_failed')
}

async function readJson(response: Response): Promise<unknown> {
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

function describeError(body: unknown): string {
  if (typeof body === 'string') return body.slice(0, 300)
  const error = (body as { error?: unknown } | undefined)?.error
  if (typeof error === 'string') return error.slice(0, 300)
  const message = (error as { message?: unknown } | undefined)?.message
  return typeof message === 'string' ? message.slice(0, 300) : ''
}

/** A non-2xx upstream answer: its 4xx are the caller's problem (400), the rest ours (502). */
function errorFromUpstream(status: number, body: unknown): ImagegenError {
  const detail = describeError(body)
  if (status >= 400 && status < 500 && status !== 408 && status !== 429) {
    return new ImagegenError({ status: 400, type: 'invalid_request_error', code: 'upstream_rejected', message: `The upstream rejected the request: ${detail || `HTTP ${status}`}.` })
  }
  return upstreamError(`The upstream failed (HTTP ${status})${detail ? `: ${detail}` : ''}.`)
}
