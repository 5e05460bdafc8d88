/**
 * The core over HTTP: a proxy of ours already runs on the port, so requests go to it and it pays.
 * "Ours" is proved, never taken on trust: the proxy answers an identity challenge only a holder of
 * our token can answer, for our wallet, before each request (./proven-proxy.ts). The wallet,
 * ledger and store are the proxy's; results are read back into the same ImageResult.
 */
import { stat } from 'node:fs/promises'
import { Agent } from 'node:http'
import type { ModelList } from '../catalog/index.js'
import { ImagegenError, upstreamError, type ImagegenErrorType, type OpenAIErrorBody } from '../errors.js'
import { CONSENT_HEADER, IDEMPOTENCY_HEADER, REUSE_HEADER } from '../http/call-options.js'
import { CONSENT_KEY_HEADER } from '../http/middleware/consent-key/index.js'
import type { ImagesResponseBody } from '../http/respond.js'
import { quoteFromJson, type QuoteJson } from '../quote.js'
import type { ReceiptView } from '../receipts/receipt.js'
import type { GalleryPage, GalleryQuery } from '../gallery/index.js'
import type { GalleryDetail } from '../gallery/view.js'
import { SERVICE_NAME } from '../http/routes/info.js'
import type { CallOptions, ImageResult } from '../service.js'
import { imageTypeForExtension } from '../store/sniff.js'
import { ConnectionLost, proveIdentity, provenRequest, ProxyNotProven, type ProxyCredentials } from './proven-proxy.js'
import type { ImagegenCore } from './types.js'

export { loadProxyCredentials, type ProxyCredentials } from './proven-proxy.js'

/** What answers on a port: nothing, a proxy of ours (proved), or something we will not use, and why. */
export type ProxyProbe =
  | { kind: 'absent' }
  | { kind: 'ours'; wallet: string; auth: string; limits?: unknown }
  | { kind: 'foreign'; reason: string; looksLike: 'imagegen' | 'clawrouter' | 'other'; claimedWallet?: string }

/** What a foreign program on the port looks like, for people: "BlockRun's ClawRouter", "another program"... */
export function foreignName(probe: Extract<ProxyProbe, { kind: 'foreign' }>): string {
  return probe.looksLike === 'clawrouter' ? "BlockRun's ClawRouter" : probe.looksLike === 'imagegen' ? 'a program calling itself an imagegen proxy' : 'another program'
}

/**
 * Who answers on `baseUrl`. Ours only with a valid identity proof for our wallet; without our
 * credentials (no token file yet) nothing can be proved, so anything answering is foreign.
 * `looksLike` reads the public `/health` to name what is there in messages; it proves nothing.
 */
export async function probeProxy(baseUrl: string, credentials: ProxyCredentials | { reason: string }, timeoutMs = 500): Promise<ProxyProbe> {
  const base = new URL(baseUrl)
  const signal = AbortSignal.timeout(timeoutMs)
  let reason: string
  if ('token' in credentials) {
    const agent = new Agent({ keepAlive: false })
    try {
      const { claim } = await proveIdentity(agent, base, credentials, signal)
      return { kind: 'ours', wallet: claim.wallet, auth: claim.auth, limits: claim.limits }
    } catch (error) {
      if (!(error instanceof ProxyNotProven)) return { kind: 'absent' }
      reason = error.reason
    } finally {
      agent.destroy()
    }
  } else reason = credentials.reason
  const shape = await healthShape(baseUrl, signal)
  return shape === undefined ? { kind: 'absent' } : { kind: 'foreign', reason, ...shape }
}

/**
 * What the public `/health` looks like: ours by name, ClawRouter's (`status: ok` with a wallet,
 * its own check in src/proxy.ts), or other; undefined when nothing answers.
 */
async function healthShape(baseUrl: string, signal: AbortSignal): Promise<{ looksLike: 'imagegen' | 'clawrouter' | 'other'; claimedWallet?: string } | undefined> {
  try {
    const response = await fetch(`${baseUrl}/health`, { signal })
    const body = (await response.json().catch(() => ({}))) as { status?: unknown; service?: unknown; wallet?: unknown }
    const claimedWallet = typeof body.wallet === 'string' ? { claimedWallet: body.wallet } : {}
    if (body.service === SERVICE_NAME) return { looksLike: 'imagegen', ...claimedWallet }
    return { looksLike: body.status === 'ok' && body.wallet ? 'clawrouter' : 'other', ...claimedWallet }
  } catch {
    return undefined
  }
}

export function remoteCore(baseUrl: string, credentials: ProxyCredentials): ImagegenCore {
  const base = new URL(baseUrl)
  const call = async <T>(path: string, init: { method?: string; body?: string; signal?: AbortSignal | undefined; headers?: Record<string, string> } = {}): Promise<T> => {
    let response: { status: number; text: string }
    try {
      response = await provenRequest(base, credentials, path, init)
    } catch (error) {
      if (init.signal?.aborted) throw init.signal.reason
      if (error instanceof ProxyNotProven)
        throw new ImagegenError({ status: 502, type: 'upstream_error', code: 'proxy_not_proven', message: `The program on ${baseUrl} no longer proves it is our imagegen proxy (${error.reason}); nothing was sent to it.`, cause: error })
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
    // The key, its kind and the user's consent travel as headers; the proxy honours the consent
    // only with the token and the consent key (server/http/call-options.ts), sent to a proxy that
    // just proved it is ours.
    const headers: Record<string, string> = {
      ...(options.idempotency ? { [IDEMPOTENCY_HEADER]: options.idempotency.key, [REUSE_HEADER]: options.idempotency.reuse } : {}),
      ...(options.consented !== undefined ? { [CONSENT_HEADER]: options.consented.toString(), ...(credentials.consentKey ? { [CONSENT_KEY_HEADER]: credentials.consentKey } : {}) } : {}),
    }
    try {
      const body = await call<ImagesResponseBody>(path, { method: 'POST', body: JSON.stringify(input, (_, value: unknown) => (typeof value === 'bigint' ? usdText(value) : value)), signal: options.signal, headers })
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
    quote: async (input, options) => quoteFromJson(await call<QuoteJson>('/v1/images/quote', { method: 'POST', body: JSON.stringify(input), signal: options?.signal })),
    receipt: async (id) => {
      try {
        return await call<ReceiptView>(`/v1/receipts/${encodeURIComponent(id)}`)
      } catch (error) {
        if (error instanceof ImagegenError && error.status === 404) return undefined
        throw error
      }
    },
    receipts: ({ before, limit = 50 } = {}) => call(`/v1/receipts?limit=${limit}${before ? `&before=${encodeURIComponent(before)}` : ''}`),
    gallery: (query = {}) => call<GalleryPage>(`/v1/gallery?${galleryParameters(query)}`),
    galleryItem: async (file) => {
      try {
        return await call<GalleryDetail>(`/v1/gallery/items/${encodeURIComponent(file)}`)
      } catch (error) {
        if (error instanceof ImagegenError && error.status === 404) return undefined
        throw error
      }
    },
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
      return { file: item.file, path: item.path, url: item.url, bytes: info?.size ?? 0, mimeType: type?.mime ?? 'image/png', sha256: typeof item.sha256 === 'string' ? item.sha256 : '', revisedPrompt: item.revised_prompt }
    }),
  )
  const cost = body.cost
  const receipt = typeof body.receipt === 'string' ? body.receipt : ''
  return {
    requestId: receipt,
    receiptId: receipt,
    replayed: body.replayed === true,
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

/** A gallery query as the proxy's query string. */
function galleryParameters(query: GalleryQuery): string {
  const parameters = new URLSearchParams()
  for (const [name, value] of Object.entries(query)) if (value !== undefined && value !== '') parameters.set(name, name === 'facets' ? (value ? '1' : '0') : String(value))
  return parameters.toString()
}

/** A parsed amount back to the dollars the proxy parses again (max_price), exactly. */
function usdText(amount: bigint): string {
  const text = amount.toString().padStart(7, '0')
  return `${text.slice(0, -6)}.${text.slice(-6)}`
}

function badBody(baseUrl: string, what: string, cause?: unknown): ImagegenError {
  return upstreamError(`The local proxy at ${baseUrl} answered with ${what}.`, cause, 'bad_body')
}
