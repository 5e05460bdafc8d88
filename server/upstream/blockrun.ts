/**
 * The BlockRun client: posts an image request through the payer, follows a `202` job to its end,
 * and hands back the images in whatever form the gateway chose (hosted URL, data URI, b64_json).
 * The sandbox upstream speaks the same protocol, so tests run this very code.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { ImagegenError, upstreamError } from '../errors.js'
import type { PaymentContext, PaymentReceipt, Payer, SentPayment } from '../payment/payer.js'

export type UpstreamRoute = '/v1/images/generations' | '/v1/images/image2image'

/** One image as the upstream gave it: decoded bytes, or a URL still to download. */
export type UpstreamImage = { kind: 'bytes'; data: Buffer; revisedPrompt?: string } | { kind: 'url'; url: string; revisedPrompt?: string }

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
}

type ResultItem = { url?: unknown; b64_json?: unknown; revised_prompt?: unknown }

export class UpstreamClient {
  readonly baseUrl: string
  private readonly payer: Payer
  private readonly pollIntervalMs: number

  constructor({ baseUrl, payer, pollIntervalMs = 2000 }: UpstreamClientParameters) {
    this.baseUrl = baseUrl
    this.payer = payer
    this.pollIntervalMs = pollIntervalMs
  }

  /** `signal` should carry the caller's cancellation and the overall deadline. */
  async post(route: UpstreamRoute, body: unknown, context: PaymentContext & { signal: AbortSignal; onProgress?: UpstreamProgress }): Promise<UpstreamResult> {
    const url = `${this.baseUrl}${route}`
    const payload = JSON.stringify(body)
    const send = (headers: Record<string, string>) =>
      fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
        body: payload,
        signal: context.signal,
      })
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
    const receipt = payment ? await payment.finish(response) : undefined
    const body = await readJson(response)
    if (!response.ok) throw errorFromUpstream(response.status, body)
    return { images: parseImages(body), payment: receipt }
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
        response = await fetch(pollUrl, { headers: { accept: 'application/json' }, signal: context.signal })
      } catch (error) {
        // Polling is free, so a dropped poll is retried; the deadline in `signal` bounds it.
        if (context.signal.aborted || ++transportFailures > 5) throw error
        await wait()
        continue
      }
      const body = (await readJson(response)) as { status?: unknown; error?: unknown }
      const status = typeof body.status === 'string' ? body.status : response.ok ? 'completed' : 'failed'
      if (status === 'completed') return this.finishJob(response, body, payment)
      if (status === 'failed' || (!response.ok && response.status !== 404)) {
        throw upstreamError(`The upstream job failed: ${describeError(body) || `HTTP ${response.status}`}.`, undefined, 'job_failed')
      }
      context.onProgress?.(`waiting for ${context.model} (${status}), ${Math.round((Date.now() - started) / 1000)} s`)
      await wait()
    }
  }

  private async finishJob(response: Response, body: unknown, payment: SentPayment | undefined): Promise<UpstreamResult> {
    const receipt = payment ? await payment.finish(response) : undefined
    return { images: parseImages(body), payment: receipt }
  }
}

function parseImages(body: unknown): UpstreamImage[] {
  const data = (body as { data?: unknown } | undefined)?.data
  if (!Array.isArray(data) || data.length === 0) throw upstreamError('The upstream answered without any images.', undefined, 'no_images')
  return data.map((item: ResultItem) => {
    const revisedPrompt = typeof item?.revised_prompt === 'string' ? item.revised_prompt : undefined
    const extra = revisedPrompt ? { revisedPrompt } : {}
    if (typeof item?.b64_json === 'string') return { kind: 'bytes', data: decodeBase64(item.b64_json), ...extra }
    if (typeof item?.url === 'string') {
      if (item.url.startsWith('data:')) return { kind: 'bytes', data: decodeDataUri(item.url), ...extra }
      const parsed = URL.canParse(item.url) ? new URL(item.url) : undefined
      if (parsed && (parsed.protocol === 'https:' || parsed.protocol === 'http:')) return { kind: 'url', url: parsed.href, ...extra }
    }
    throw upstreamError('The upstream returned an image entry with neither a usable url nor b64_json.', undefined, 'bad_image_entry')
  })
}

function decodeDataUri(uri: string): Buffer {
  const comma = uri.indexOf(',')
  if (comma < 0 || !/;base64$/i.test(uri.slice(0, comma))) throw upstreamError('The upstream returned a data URI that is not base64.', undefined, 'bad_image_entry')
  return decodeBase64(uri.slice(comma + 1))
}

function decodeBase64(text: string): Buffer {
  const data = Buffer.from(text, 'base64')
  if (data.length === 0) throw upstreamError('The upstream returned empty image data.', undefined, 'bad_image_entry')
  return data
}

async function readJson(response: Response): Promise<unknown> {
  let text: string
  try {
    text = await response.text()
  } catch (error) {
    throw upstreamError('The upstream closed the connection in the middle of its answer.', error, 'upstream_truncated')
  }
  if (!text) return undefined
  try {
    return JSON.parse(text)
  } catch {
    if (response.ok) throw upstreamError('The upstream answered with a body that is not JSON.', undefined, 'bad_body')
    return text
  }
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
