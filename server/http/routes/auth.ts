/**
 * Routes that let callers prove who they are talking to, and browsers sign in:
 * - `GET /v1/identity?nonce=<hex>`: the proxy's wallet and an HMAC over the nonce keyed by the
 *   proxy token (server/auth/identity.ts), so our own front doors can tell this proxy from a
 *   squatter without sending any secret;
 * - `POST /v1/auth/browser-link`: a one-time sign-in link for a browser (`imagegen token --browser`);
 * - `GET /auth/browser?code=…`: spends the code, sets the session cookie (server/auth/browser-session.ts).
 */
import type { HttpBindings } from '@hono/node-server'
import { Hono } from 'hono'
import { BROWSER_AUTH_PATH, BROWSER_LINK_PATH, SESSION_TTL_SECONDS, isLocalPath, type BrowserSessions } from '../../auth/browser-session.js'
import { endpointName, identityProof, IDENTITY_PATH, NONCE_PATTERN, type IdentityClaim } from '../../auth/identity.js'
import type { AuthMode } from '../../auth/mode.js'
import type { SpendPolicy } from '../../config.js'
import { limitsClaim } from '../../core/limits.js'
import { ImagegenError, invalidRequest } from '../../errors.js'
import { VERSION } from '../../version.js'
import { SERVICE_NAME } from './info.js'

export type AuthRoutesParameters = {
  token: string
  mode: AuthMode
  wallet: string
  /** The limits it pays under, stated in the identity answer. */
  policy: SpendPolicy
  sessions: BrowserSessions
  /** The proxy's base URL, for links. */
  publicUrl: () => string
}

export function authRoutes({ token, mode, wallet, policy, sessions, publicUrl }: AuthRoutesParameters): Hono {
  const routes = new Hono()

  routes.get(IDENTITY_PATH, (c) => {
    const nonce = c.req.query('nonce') ?? ''
    if (!NONCE_PATTERN.test(nonce)) throw invalidRequest('nonce must be 32 to 128 lower-case hex digits, fresh for each request.', 'nonce')
    const socket = (c.env as Partial<HttpBindings> | undefined)?.incoming?.socket
    const endpoint = endpointName(socket?.localAddress, socket?.localPort)
    const claim: IdentityClaim = { service: SERVICE_NAME, version: VERSION, wallet, auth: mode, proof: identityProof(token, { nonce, wallet, auth: mode, endpoint }), limits: limitsClaim(policy) }
    return c.json(claim, 200, { 'cache-control': 'no-store' })
  })

  routes.post(BROWSER_LINK_PATH, async (c) => {
    const text = await c.req.text()
    let next: unknown
    try {
      next = text.trim() === '' ? undefined : (JSON.parse(text) as { next?: unknown } | null)?.next
    } catch {
      throw invalidRequest('The body must be JSON: {"next": "/images/<file>"} or empty.')
    }
    if (next !== undefined && (typeof next !== 'string' || !isLocalPath(next))) throw invalidRequest('next must be a path on this proxy, such as /images/<file>.', 'next')
    const { code, expiresInSeconds } = sessions.issue(next)
    return c.json({ url: `${publicUrl()}${BROWSER_AUTH_PATH}?code=${code}`, expires_in: expiresInSeconds }, 200, { 'cache-control': 'no-store' })
  })

  routes.get(BROWSER_AUTH_PATH, (c) => {
    const redeemed = sessions.redeem(c.req.query('code') ?? '')
    if (!redeemed)
      throw new ImagegenError({ status: 403, type: 'invalid_request_error', code: 'link_used', message: 'This sign-in link was already used or has expired. Ask for a new one: imagegen token --browser' })
    c.header('set-cookie', `${sessions.cookieName}=${sessions.newSession()}; Path=/; Max-Age=${SESSION_TTL_SECONDS}; HttpOnly; SameSite=Strict`)
    c.header('cache-control', 'no-store')
    c.header('referrer-policy', 'no-referrer')
    if (redeemed.next) return c.redirect(redeemed.next, 303)
    return c.html('<!doctype html><meta charset="utf-8"><title>imagegen</title><p>This browser is signed in to the imagegen proxy: its image links open here now.</p>')
  })

  return routes
}
