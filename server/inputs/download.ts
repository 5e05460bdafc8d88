/**
 * Downloads an edit input from an http(s) URL without letting the URL steer the proxy somewhere
 * it must not go:
 * - http and https only, on every hop;
 * - the host's addresses are checked by the address policy at connect time (guarded-lookup), and
 *   IP literals before connecting;
 * - redirects are followed by hand, at most a few, each new URL checked like the first;
 * - one deadline for the whole download, plus an idle timeout on the socket;
 * - the body is streamed against the size cap (Content-Length is only an early hint) and the
 *   first bytes are sniffed, so an HTML page or a huge file is dropped as soon as it shows.
 *
 * node:http is used rather than fetch because its `lookup` hook lets the connection use exactly
 * the addresses that were checked, and because it never picks up HTTP(S)_PROXY from the
 * environment (a proxy would connect on our behalf, past the checks).
 */
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { startDeadline } from '../deadline.js'
import { ImagegenError } from '../errors.js'
import { sniffImage } from '../store/sniff.js'
import { checkLiteralAddress, guardedLookup, RefusedAddressError } from './guarded-lookup.js'
import { displayUrl, formatMegabytes, refuseInput, type InputField } from './refusal.js'

export type DownloadOptions = {
  field: InputField
  maxBytes: number
  /** Settings.allowPrivateUrls. */
  allowPrivate: boolean
  signal?: AbortSignal | undefined
  /** Whole download, all hops (default 60 s). */
  timeoutMs?: number
  /** Longest silence on the socket (default 15 s). */
  idleTimeoutMs?: number
  /** Redirects followed before giving up (default 3). */
  maxRedirects?: number
  /**
   * Origins (`URL.origin`, e.g. http://127.0.0.1:8402) whose loopback and private addresses are
   * allowed even without allowPrivate. Checked per hop: a redirect elsewhere is judged on its own.
   * Link-local, metadata and reserved addresses stay refused whatever this says.
   */
  allowPrivateOrigins?: readonly string[]
  /** Builds the error for a refusal (default: a 400 naming `field`, see refuseInput). */
  refuse?: (message: string, code: string) => ImagegenError
}

/** Where a streamed download's body goes, chunk by chunk (see streamDownload). */
export type DownloadSink = (chunk: Buffer) => Promise<void>

const REDIRECTS = new Set([301, 302, 303, 307, 308])
const SNIFF_BYTES = 12

export async function downloadImage(url: URL, options: DownloadOptions): Promise<Buffer> {
  return download(url, options, (response, current) => readBody(response, current, options))
}

/**
 * Like downloadImage, with the same address, redirect and timeout checks, but the body is handed
 * to `sink` as it arrives instead of being collected. Only the size cap is enforced here; the sink
 * decides what an image is.
 */
export async function streamDownload(url: URL, options: DownloadOptions, sink: DownloadSink): Promise<void> {
  await download(url, options, (response, current) => pipeBody(response, current, options, sink))
}

async function download<T>(url: URL, options: DownloadOptions, consume: (response: IncomingMessage, url: URL) => Promise<T>): Promise<T> {
  const { maxRedirects = 3, timeoutMs = 60_000 } = options
  const refuse = refuser(options)
  const deadline = startDeadline(timeoutMs, options.signal)
  const { signal } = deadline
  const first = displayUrl(url)
  let current = url
  try {
    for (let redirects = 0; ; redirects++) {
      const response = await get(current, options, signal)
      const status = response.statusCode ?? 0
      if (REDIRECTS.has(status)) {
        response.destroy()
        const location = response.headers.location
        if (!location) throw refuse(`${displayUrl(current)} answered HTTP ${status} without a Location.`, 'download_failed')
        if (redirects >= maxRedirects) throw refuse(`${first} redirected more than ${maxRedirects} times.`, 'too_many_redirects')
        if (!URL.canParse(location, current)) throw refuse(`${displayUrl(current)} redirected to an invalid URL.`, 'download_failed')
        current = new URL(location, current)
        continue
      }
      if (status < 200 || status > 299) {
        response.destroy()
        throw refuse(`downloading ${displayUrl(current)} failed: HTTP ${status}.`, 'download_failed')
      }
      return await consume(response, current)
    }
  } catch (error) {
    if (options.signal?.aborted) throw options.signal.reason
    if (deadline.expired) throw refuse(`downloading ${first} took longer than ${Math.round(timeoutMs / 1000)} s.`, 'download_timeout')
    if (error instanceof RefusedAddressError) throw refusedAddress(refuse, current, url, error)
    if (error instanceof IdleTimeout) throw refuse(`${displayUrl(current)} stopped sending data.`, 'download_timeout')
    if (error instanceof ImagegenError) throw error
    throw refuse(`downloading ${displayUrl(current)} failed: ${describeNetworkError(error)}.`, 'download_failed')
  } finally {
    deadline.clear()
  }
}

/** One request, after checking the scheme and (for IP literals) the address. */
function get(url: URL, options: DownloadOptions, signal: AbortSignal): Promise<IncomingMessage> {
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return Promise.reject(refuser(options)(`${displayUrl(url)} uses ${url.protocol}//; only http and https URLs are downloaded.`, 'url_scheme_refused'))
  const policy = { allowPrivate: options.allowPrivate || (options.allowPrivateOrigins?.includes(url.origin) ?? false) }
  const literal = isIpLiteral(url.hostname) ? checkLiteralAddress(url.hostname, policy) : undefined
  if (literal) return Promise.reject(literal)
  return new Promise((resolve, reject) => {
    const request = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, {
      method: 'GET',
      agent: false,
      lookup: guardedLookup(policy),
      signal,
      headers: { accept: 'image/png, image/jpeg, image/webp', 'accept-encoding': 'identity', 'user-agent': 'blockrun-imagegen' },
    })
    request.setTimeout(options.idleTimeoutMs ?? 15_000, () => request.destroy(new IdleTimeout()))
    request.once('response', resolve)
    request.once('error', reject)
    request.end()
  })
}

/**
 * The whole body in memory (edit inputs): `pipeBody`'s bounds, plus a byte sniff as soon as it can
 * tell. With a Content-Length the bytes are copied into one buffer of that size as they arrive,
 * so the image is held once, not once in chunks and again joined.
 */
async function readBody(response: IncomingMessage, url: URL, options: DownloadOptions): Promise<Buffer> {
  const refuse = refuser(options)
  const declared = Number(response.headers['content-length'])
  let buffer = Buffer.allocUnsafe(Number.isSafeInteger(declared) && declared > 0 ? Math.min(declared, options.maxBytes) : 64 * 1024)
  let total = 0
  await pipeBody(response, url, options, async (chunk) => {
    if (total + chunk.length > buffer.length) {
      // No length, or more than it said: grow (pipeBody still enforces the cap).
      const grown = Buffer.allocUnsafe(Math.max(buffer.length * 2, total + chunk.length))
      buffer.copy(grown, 0, 0, total)
      buffer = grown
    }
    const before = total
    chunk.copy(buffer, total)
    total += chunk.length
    if (before < SNIFF_BYTES && total >= SNIFF_BYTES && !sniffImage(buffer.subarray(0, SNIFF_BYTES)))
      throw refuse(`${displayUrl(url)} did not return a PNG, JPEG or WebP image.`, 'input_not_image')
  })
  return buffer.subarray(0, total)
}

async function pipeBody(response: IncomingMessage, url: URL, options: DownloadOptions, sink: DownloadSink): Promise<void> {
  const { maxBytes } = options
  const refuse = refuser(options)
  const shown = displayUrl(url)
  const declared = Number(response.headers['content-length'])
  if (Number.isFinite(declared) && declared > maxBytes) {
    response.destroy()
    throw refuse(`${shown} is ${formatMegabytes(declared)}; at most ${formatMegabytes(maxBytes)} is accepted.`, 'input_too_large')
  }
  let total = 0
  try {
    for await (const chunk of response as AsyncIterable<Buffer>) {
      total += chunk.length
      if (total > maxBytes) throw refuse(`${shown} sent more than ${formatMegabytes(maxBytes)}, the limit.`, 'input_too_large')
      await sink(chunk)
    }
  } finally {
    response.destroy()
  }
}

function refuser({ field, refuse }: DownloadOptions): (message: string, code: string) => ImagegenError {
  return refuse ?? ((message, code) => refuseInput(field, message, code))
}

function refusedAddress(refuse: (message: string, code: string) => ImagegenError, url: URL, first: URL, error: RefusedAddressError) {
  const via = url.href === first.href ? '' : ` (redirected from ${displayUrl(first)})`
  const allowHint = error.addressClass === 'loopback' || error.addressClass === 'private' ? ' Set allowPrivateUrls (BLOCKRUN_ALLOW_PRIVATE_URLS=1) to allow local network addresses.' : ''
  return refuse(`${displayUrl(url)}${via} is refused: ${error.message}.${allowHint}`, 'url_address_refused')
}

class IdleTimeout extends Error {
  override name = 'IdleTimeout'
}

function isIpLiteral(hostname: string): boolean {
  return hostname.startsWith('[') || /^\d{1,3}(\.\d{1,3}){3}$/.test(hostname)
}

function describeNetworkError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code
  switch (code) {
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'the host name does not resolve'
    case 'ECONNREFUSED':
      return 'connection refused'
    case 'ECONNRESET':
      return 'the connection was reset'
    case 'ETIMEDOUT':
      return 'the connection timed out'
    default:
      if (code && /CERT|SSL|TLS/.test(code)) return `TLS certificate problem (${code})`
      return code ?? (error instanceof Error ? error.message : String(error))
  }
}
