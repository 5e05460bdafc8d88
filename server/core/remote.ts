/**
 * The core over HTTP: a proxy already runs on the port (ours), so requests go to it and it pays.
 * The wallet, ledger and store are the proxy's; results are read back into the same ImageResult.
 */
import { stat } from 'node:fs/promises'
import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import type { ModelList } from '../catalog/index.js'
import { ImagegenError, upstreamError, type ImagegenErrorType, type OpenAIErrorBody } from '../errors.js'
import type { ImagesResponseBody } from '../http/respond.js'
import { SERVICE_NAME } from '../http/routes/info.js'
import type { CallOptions, ImageResult } from '../service.js'
import { imageTypeForExtension } from '../store/sniff.js'
import type { ImagegenCore } from './types.js'

/** True when `baseUrl` answers `/health` as this proxy does. */
export async function probeProxy(baseUrl: string, timeoutMs = 500): Promise<{ ours: boolean; wallet?: string; service?: string } | undefined> {
  try {
    const response = await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(timeoutMs) })
    const body = (await response.json()) as { status?: string; service?: string; wallet?: string }
    if (!response.ok || body.status !== 'ok') return { ours: false }
    return { ours: body.service === SERVICE_NAME, ...(body.wallet ? { wallet: body.wallet } : {}), ...(body.service ? { service: body.service } : {}) }
  } catch {
    return undefined
  }
}

export function remoteCore(baseUrl: string): ImagegenCore {
  const call = async <T>(path: string, init: { method?: string; body?: string; signal?: AbortSignal | undefined } = {}): Promise<T> => {
    let response: { status: number; text: string }
    try {
      response = await send(new URL(`${baseUrl}${path}`), init)
    } catch (error) {
      if (init.signal?.aborted) throw init.signal.reason
      if (error instanceof ConnectionLost) throw upstreamError(`The connection to the local proxy at ${baseUrl} was lost before it answered in full.`, error, 'proxy_unreachable')
      throw upstreamError(`The local proxy at ${baseUrl} could not be reached.`, error, 'proxy_unreachable')
    }
    let body: unknown
    let parseError: unknown
    try {
      body = JSON.parse(response.text)
    } catch (error) {
      parseError = error
    }
    if (response.status < 200 || response.status > 299) {
      const error = (body as OpenAIErrorBody | undefined)?.error
      throw new ImagegenError({
        status: response.status,
        type: (error?.type as ImagegenErrorType | undefined) ?? 'server_error',
        message: error?.message ?? `The local proxy answered HTTP ${response.status}.`,
        param: error?.param,
        code: error?.code,
      })
    }
    if (parseError !== undefined) throw badBody(baseUrl, 'a body that is not JSON', parseError)
    return body as T
  }
  const post = async (path: string, input: unknown, options: CallOptions = {}): Promise<ImageResult> => {
    const started = Date.now()
    const ticker = options.onProgress
      ? setInterval(() => options.onProgress?.({ message: `waiting for the image (via the proxy at ${baseUrl}), ${Math.round((Date.now() - started) / 1000)} s`, elapsedMs: Date.now() - started }), 2000)
      : undefined
    try {
      const body = await call<ImagesResponseBody>(path, { method: 'POST', body: JSON.stringify(input), signal: options.signal })
      if (!Array.isArray((body as Partial<ImagesResponseBody> | null)?.data)) throw badBody(baseUrl, 'a body without the images')
      return await toResult(body)
    } finally {
      if (ticker) clearInterval(ticker)
    }
  }
  return {
    mode: 'remote',
    generate: (input, options) => post('/v1/images/generations', input, options),
    edit: (input, options) => post('/v1/images/image2image', input, options),
    models: () => call<ModelList>('/v1/models'),
    wallet: () => call('/v1/wallet'),
    usage: (days = 30) => call(`/v1/usage?days=${days}`),
    close: async () => {},
  }
}

async function toResult(body: ImagesResponseBody): Promise<ImageResult> {
  const images = await Promise.all(
    body.data.map(async (item) => {
      const info = await stat(item.path).catch(() => undefined)
      const type = imageTypeForExtension(item.file.slice(item.file.lastIndexOf('.') + 1))
      return { file: item.file, path: item.path, url: item.url, bytes: info?.size ?? 0, mimeType: type?.mime ?? 'image/png', revisedPrompt: item.revised_prompt }
    }),
  )
  const cost = body.cost
  return {
    requestId: '',
    created: body.created,
    model: body.model,
    requestedModel: body.requested_model ?? body.model,
    size: body.size,
    images,
    // A proxy of an older version sends neither.
    notes: Array.isArray(body.notes) ? body.notes.filter((note): note is string => typeof note === 'string') : [],
    estimate: typeof body.estimate?.amount === 'string' && /^\d+$/.test(body.estimate.amount) ? BigInt(body.estimate.amount) : undefined,
    cost: cost
      ? {
          id: '',
          amount: BigInt(cost.amount),
          usd: cost.usd,
          network: cost.network,
          asset: cost.asset,
          payTo: cost.pay_to,
          payer: cost.payer,
          x402Version: 2,
          transaction: cost.transaction ?? undefined,
          status: cost.status === 'settled' ? 'settled' : 'unknown',
        }
      : undefined,
  }
}

/**
 * One request to the proxy, answered in full. node:http rather than fetch: fetch (undici) gives
 * up after 300 s without response headers, and the proxy sends none until the generation is done,
 * which may take as long as BLOCKRUN_TIMEOUT_SECONDS (up to an hour). There is no timeout here at
 * all: the caller's signal is the deadline.
 */
function send(url: URL, { method = 'GET', body, signal }: { method?: string; body?: string; signal?: AbortSignal | undefined }): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { accept: 'application/json' }
    if (body !== undefined) {
      headers['content-type'] = 'application/json'
      headers['content-length'] = String(Buffer.byteLength(body))
    }
    const request = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, { method, headers, agent: false, ...(signal ? { signal } : {}) })
    request.once('error', reject)
    request.once('response', (response) => {
      const chunks: Buffer[] = []
      response.on('data', (chunk: Buffer) => chunks.push(chunk))
      response.once('error', () => reject(new ConnectionLost()))
      response.once('aborted', () => reject(new ConnectionLost()))
      response.once('end', () => {
        if (response.complete) resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') })
        else reject(new ConnectionLost())
      })
    })
    request.end(body)
  })
}

class ConnectionLost extends Error {
  override name = 'ConnectionLost'
  constructor() {
    super('the connection closed before the answer was complete')
  }
}

function badBody(baseUrl: string, what: string, cause?: unknown): ImagegenError {
  return upstreamError(`The local proxy at ${baseUrl} answered with ${what}.`, cause, 'bad_body')
}
