/**
 * Browser sessions for token mode. A browser cannot send `Authorization: Bearer`, so the user
 * asks for a one-time link (`imagegen token --browser`): the proxy hands out a random code, valid
 * once and for a few minutes, and opening `/auth/browser?code=…` trades it for a cookie.
 *
 * The cookie is HttpOnly (no script reads it) and SameSite=Strict (no other site's request
 * carries it). Browsers scope cookies by host, not port, so a server on another loopback port the
 * browser visits would receive it too: it is therefore not the token but a session id with an
 * expiry and an HMAC over both keyed by the token, and it admits only GET and HEAD (images,
 * models, wallet and usage views). Paying calls need the token itself.
 *
 * @see https://httpwg.org/specs/rfc6265.html (cookies)
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

export const BROWSER_AUTH_PATH = '/auth/browser'
export const BROWSER_LINK_PATH = '/v1/auth/browser-link'

/** How long a one-time link works. */
export const LINK_TTL_MS = 5 * 60 * 1000
/** How long a browser session lasts. */
export const SESSION_TTL_SECONDS = 30 * 24 * 3600
/** Outstanding links at most: asking for more drops the oldest. */
const MAX_LINKS = 64

export type BrowserSessions = {
  /** The cookie's name for this proxy (cookies are shared across ports, so the port is in it). */
  readonly cookieName: string
  /** A new one-time code; `next` is where the browser goes once signed in (a page saying so when absent). */
  issue(next: string | undefined): { code: string; expiresInSeconds: number }
  /** Spends a code: where to go next, or undefined when it is unknown, used or expired. */
  redeem(code: string): { next: string | undefined } | undefined
  /** A fresh session cookie's value. */
  newSession(): string
  /** True when a `Cookie` header carries a valid session of ours. */
  admits(cookieHeader: string | undefined): boolean
}

export function browserSessions(token: string, port: () => number, now: () => number = Date.now): BrowserSessions {
  const links = new Map<string, { expires: number; next: string | undefined }>()
  const mac = (id: string, expires: number) => createHmac('sha256', token).update(`blockrun-imagegen browser session v1\n${id}\n${expires}`).digest('base64url')
  const sessions: BrowserSessions = {
    get cookieName() {
      return `imagegen_session_${port()}`
    },
    issue(next) {
      for (const [code, link] of links) if (link.expires <= now()) links.delete(code)
      while (links.size >= MAX_LINKS) links.delete(links.keys().next().value!)
      const code = randomBytes(24).toString('base64url')
      links.set(code, { expires: now() + LINK_TTL_MS, next })
      return { code, expiresInSeconds: LINK_TTL_MS / 1000 }
    },
    redeem(code) {
      const link = links.get(code)
      if (!link) return undefined
      links.delete(code)
      return link.expires > now() ? { next: link.next } : undefined
    },
    newSession() {
      const id = randomBytes(18).toString('base64url')
      const expires = Math.floor(now() / 1000) + SESSION_TTL_SECONDS
      return `${id}.${expires}.${mac(id, expires)}`
    },
    admits(cookieHeader) {
      const value = cookieValue(cookieHeader, sessions.cookieName)
      const match = value === undefined ? null : /^([A-Za-z0-9_-]{24})\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(value)
      if (!match) return false
      const [, id, expiresText, given] = match as unknown as [string, string, string, string]
      const expires = Number(expiresText)
      if (expires * 1000 <= now()) return false
      const expected = Buffer.from(mac(id, expires))
      const presented = Buffer.from(given)
      return presented.length === expected.length && timingSafeEqual(presented, expected)
    },
  }
  return sessions
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim()
  }
  return undefined
}

/** True for a same-origin path to go to after signing in: `/…` but never `//host` or `/\host` (open redirects). */
export function isLocalPath(next: string): boolean {
  return next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/\\') && !/[\u0000-\u001f\u007f]/.test(next)
}
