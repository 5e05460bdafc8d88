/**
 * Local-only middleware: the proxy holds a wallet, and every web page the user opens can send
 * requests to 127.0.0.1. Two checks keep pages out:
 * - `Host` must name this server (a DNS-rebinding page sends its own host name);
 * - an `Origin`, when present, must be a loopback origin (browsers send it on cross-site POSTs and
 *   on preflights), and CORS preflights are refused outright: no CORS headers are ever granted.
 */
import type { MiddlewareHandler } from 'hono'
import { ImagegenError } from '../../../errors.js'

export type LocalOnlyOptions = {
  /** The port actually bound (known after listen). */
  port: () => number
  /** The bound host; when it is not loopback (`--host 0.0.0.0`), any Host header is allowed. */
  host: string
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1'])

export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_HOSTS.has(host.toLowerCase()) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
}

export function localOnly({ port, host }: LocalOnlyOptions): MiddlewareHandler {
  const checkHost = isLoopbackHost(host)
  return async function localOnly(c, next) {
    if (checkHost) {
      const header = c.req.header('host') ?? ''
      const match = /^(\[[0-9a-f:.]+\]|[^:]+)(?::(\d+))?$/i.exec(header)
      const name = match?.[1]?.toLowerCase()
      const headerPort = match?.[2] === undefined ? 80 : Number(match[2])
      if (!name || !isLoopbackHost(name) || headerPort !== port()) throw forbidden('Host', 'This proxy only answers requests addressed to its own loopback address.')
    }
    const origin = c.req.header('origin')
    if (origin !== undefined && !isLoopbackOrigin(origin)) throw forbidden('Origin', 'Requests from web pages are refused: this proxy spends money and reads local files.')
    if (c.req.method === 'OPTIONS') throw forbidden('Origin', 'Cross-origin requests are not allowed.')
    await next()
  }
}

function isLoopbackOrigin(origin: string): boolean {
  if (!URL.canParse(origin)) return false
  const url = new URL(origin)
  return (url.protocol === 'http:' || url.protocol === 'https:') && isLoopbackHost(url.hostname)
}

function forbidden(param: string, message: string): ImagegenError {
  return new ImagegenError({ status: 403, type: 'invalid_request_error', message, param: param.toLowerCase(), code: 'forbidden_origin' })
}
