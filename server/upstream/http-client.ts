/**
 * The upstream's HTTP client: node:http and node:https over keep-alive agents, answering with web
 * `Response`s, so the payer, the job poller and the result reader read it exactly as they would
 * read `fetch`.
 *
 * Why not the global `fetch`: on a paid image request its own machinery (WHATWG Request, header
 * guards, web streams end to end) cost about 0.3–0.4 ms more per round trip than node:http on
 * this machine, which is a large share of what the proxy adds to a request (docs/PERFORMANCE.md).
 * What fetch did that matters here is kept: keep-alive pooling (idle sockets close after 4 s, as
 * undici's default), gzip/deflate/br bodies decoded, cancellation through `signal`, and transport
 * failures thrown as `TypeError('fetch failed', { cause })` with the socket error's `code` in
 * `cause` (a connection not made in 10 s is `UND_ERR_CONNECT_TIMEOUT`, as with undici), which is
 * how the payer tells "never connected" from "lost in transit". Redirects are
 * not followed: a paid POST must never be replayed elsewhere, and the gateway's job and result
 * URLs are absolute.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http'
import type { LookupFunction } from 'node:net'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'
import { Readable, type Transform } from 'node:stream'
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib'

export type UpstreamRequestInit = {
  method?: 'GET' | 'POST'
  headers?: Record<string, string>
  /** A string is sent with its byte length; a stream needs `content-length` in `headers`. */
  body?: string | ReadableStream<Uint8Array> | undefined
  signal?: AbortSignal | undefined
  /**
   * A DNS lookup the connection must use (an address guard). Such a request gets a connection of
   * its own, never a pooled one: a pooled socket was connected without this lookup.
   */
  lookup?: LookupFunction | undefined
}

/** Idle pooled sockets close after this long (undici's default keep-alive timeout). */
const IDLE_SOCKET_MS = 4000
/** A connection not made within this long fails as never connected (undici's default too). */
const CONNECT_TIMEOUT_MS = 10_000
const USER_AGENT = 'blockrun-imagegen'

const agents = {
  'http:': new HttpAgent({ keepAlive: true, timeout: IDLE_SOCKET_MS, scheduling: 'lifo' }),
  'https:': new HttpsAgent({ keepAlive: true, timeout: IDLE_SOCKET_MS, scheduling: 'lifo' }),
}

const DECODERS: Record<string, () => Transform> = {
  gzip: createGunzip,
  'x-gzip': createGunzip,
  deflate: createInflate,
  br: createBrotliDecompress,
}

export function upstreamFetch(input: string | URL, init: UpstreamRequestInit = {}): Promise<Response> {
  const url = typeof input === 'string' ? new URL(input) : input
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return Promise.reject(new TypeError(`fetch failed: ${url.protocol} is not http(s)`))
  const { method = 'GET', body, signal } = init
  const headers: Record<string, string> = { 'user-agent': USER_AGENT, 'accept-encoding': 'gzip, deflate, br', ...init.headers }
  if (typeof body === 'string') headers['content-length'] = String(Buffer.byteLength(body))
  return new Promise<Response>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason)
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest
    const pooling = init.lookup ? { agent: false as const, lookup: init.lookup } : { agent: agents[url.protocol as keyof typeof agents] }
    const request = send(url, { method, headers, ...pooling, signal })
    let settled = false
    /** Whether the socket ever connected: a failure before that cannot have sent the request. */
    let connected = false
    const fail = (error: Error) => {
      if (settled) return
      settled = true
      reject(signal?.aborted ? signal.reason : Object.assign(new TypeError('fetch failed', { cause: error }), { connected }))
    }
    request.once('error', fail)
    request.once('socket', (socket) => {
      if (!socket.connecting) {
        connected = true // a pooled connection
        return
      }
      socket.once('connect', () => (connected = true))
      const timer = setTimeout(() => request.destroy(Object.assign(new Error('connect timeout'), { code: 'UND_ERR_CONNECT_TIMEOUT' })), CONNECT_TIMEOUT_MS)
      socket.once('connect', () => clearTimeout(timer))
      socket.once('close', () => clearTimeout(timer))
    })
    request.once('response', (message) => {
      try {
        const response = toResponse(message, signal)
        settled = true
        resolve(response)
      } catch (error) {
        // An answer no Response can hold (a status outside 200-599): it came after the request was sent.
        message.destroy()
        fail(error as Error)
      }
    })
    if (body === undefined) request.end()
    else if (typeof body === 'string') request.end(body)
    else {
      const source = Readable.fromWeb(body as import('node:stream/web').ReadableStream<Uint8Array>)
      source.once('error', (error) => request.destroy(error))
      source.pipe(request)
    }
  })
}

/** A web Response over `message`; the body stream fails if the connection drops or `signal` fires. */
function toResponse(message: IncomingMessage, signal: AbortSignal | undefined): Response {
  const headers = new Headers()
  const raw = message.rawHeaders
  for (let i = 0; i < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!)
  const status = message.statusCode ?? 0
  if (status < 200 || status > 599) throw new RangeError(`the upstream answered with HTTP status ${status}`)
  // The reason phrase is for people; one a Response would refuse is dropped.
  const statusText = /^[\t\x20-\x7e\x80-\xff]*$/.test(message.statusMessage ?? '') ? (message.statusMessage ?? '') : ''
  // Responses that cannot carry a body must be built without one.
  if (status === 204 || status === 205 || status === 304) {
    message.resume()
    return new Response(null, { status, statusText, headers })
  }
  let stream: Readable = message
  const decode = DECODERS[(headers.get('content-encoding') ?? '').trim().toLowerCase()]
  if (decode) {
    const decoder = decode()
    message.once('error', (error) => decoder.destroy(error))
    // A body cut short ends the socket stream without an error; the decoder alone would not notice.
    message.once('aborted', () => decoder.destroy(new Error('aborted')))
    stream = message.pipe(decoder)
    headers.delete('content-encoding')
    headers.delete('content-length')
  }
  if (signal) {
    const abort = () => stream.destroy(signal.reason instanceof Error ? signal.reason : new Error('aborted'))
    signal.addEventListener('abort', abort, { once: true })
    stream.once('close', () => signal.removeEventListener('abort', abort))
  }
  return new Response(Readable.toWeb(stream) as ReadableStream<Uint8Array>, { status, statusText, headers })
}
