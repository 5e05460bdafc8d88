/**
 * Local-only middleware: the proxy holds a wallet, and every web page the user opens can send
 * requests to 127.0.0.1. Two checks keep pages out:
 * - `Host` must name this server (a DNS-rebinding page sends its own host name): a loopback name,
 *   or, when bound beyond loopback, an address of this machine or its host name; always with the
 *   bound port;
 * - an `Origin`, when present, must be the proxy's own (a name the Host check accepts, with the
 *   proxy's port) or one the user listed (`BLOCKRUN_ALLOWED_ORIGINS`): a page on another loopback
 *   port (any local dev server) is another origin. CORS preflights are refused outright: no CORS
 *   headers are ever granted.
 * Who may call at all (which user, which token) is the caller-auth middleware's concern.
 */
import { hostname, networkInterfaces } from 'node:os'
import type { MiddlewareHandler } from 'hono'
import { ImagegenError } from '../../../errors.js'

export type LocalOnlyOptions = {
  /** The port actually bound (known after listen). */
  port: () => number
  /** The bound host; beyond loopback (`--host 0.0.0.0`), this machine's addresses and name are accepted too. */
  host: string
  /** Web origins accepted besides the proxy's own, as `scheme://host[:port]`. */
  allowedOrigins?: readonly string[]
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1'])
const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '[::]'])

export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_HOSTS.has(host.toLowerCase()) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
}

export function localOnly({ port, host, allowedOrigins = [] }: LocalOnlyOptions): MiddlewareHandler {
  const isOwnName = ownNames(host)
  const allowed = new Set(allowedOrigins)
  /** `name[:port]` (a Host header, or an origin's host) names this server on its port. */
  const isOwnHost = (value: string, defaultPort: number) => {
    const match = /^(\[[0-9a-f:.]+\]|[^:]+)(?::(\d+))?$/i.exec(value)
    const name = match?.[1]?.toLowerCase()
    const namedPort = match?.[2] === undefined ? defaultPort : Number(match[2])
    return name !== undefined && isOwnName(name) && namedPort === port()
  }
  const isOwnOrigin = (origin: string) => {
    if (allowed.has(origin)) return true
    if (!URL.canParse(origin)) return false
    const url = new URL(origin)
    return url.protocol === 'http:' && url.origin === origin && isOwnHost(url.host, 80)
  }
  return async function localOnly(c, next) {
    if (!isOwnHost(c.req.header('host') ?? '', 80)) throw forbidden('Host', 'This proxy only answers requests addressed to its own address and port.')
    const origin = c.req.header('origin')
    if (origin !== undefined && !isOwnOrigin(origin))
      throw forbidden('Origin', `Requests from other web origins (${origin.slice(0, 100)}) are refused: this proxy spends money and reads local files. To allow a page of yours, list its origin in BLOCKRUN_ALLOWED_ORIGINS.`)
    if (c.req.method === 'OPTIONS') throw forbidden('Origin', 'Cross-origin requests are not allowed.')
    await next()
  }
}

/**
 * The host names this server answers to. On loopback: loopback names only. Beyond loopback also
 * the bound address, this machine's interface addresses (read per request: they change) and its
 * host name; a rebinding page's own domain is none of these.
 */
function ownNames(boundHost: string): (name: string) => boolean {
  if (isLoopbackHost(boundHost)) return isLoopbackHost
  const bound = boundHost.toLowerCase()
  return (name) => {
    if (isLoopbackHost(name)) return true
    if (!WILDCARD_HOSTS.has(bound) && (name === bound || name === `[${bound}]`)) return true
    const machine = hostname().toLowerCase()
    if (name === machine || name === `${machine}.local`) return true
    for (const addresses of Object.values(networkInterfaces()))
      for (const { address, family } of addresses ?? []) if ((family === 'IPv6' ? `[${address.toLowerCase()}]` : address) === name) return true
    return false
  }
}

function forbidden(param: string, message: string): ImagegenError {
  return new ImagegenError({ status: 403, type: 'invalid_request_error', message, param: param.toLowerCase(), code: 'forbidden_origin' })
}
