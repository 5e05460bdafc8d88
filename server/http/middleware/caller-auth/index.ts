/**
 * Caller-auth middleware: who may use the proxy. It holds a wallet and reads files named in
 * requests, so only the user who runs it may call it (server/auth/mode.ts has the modes):
 *
 * - a valid `Authorization: Bearer <token>` (the OpenAI SDK's `apiKey`) is accepted in every mode;
 * - a valid browser session cookie is accepted for GET and HEAD (server/auth/browser-session.ts);
 * - `owner`: otherwise the connection must belong to the proxy's own user, by the kernel's socket
 *   table. The lookup is made once per connection and kept with the socket, so a kept-alive
 *   client pays it once (bench: "caller check"). A connection whose row cannot be found (a peer
 *   on another machine, a caller already gone) is refused: closed, not open, when in doubt;
 * - `token`: otherwise refused with 401;
 * - `loopback`: otherwise admitted (systems without a socket table, bound to loopback).
 *
 * Public, in every mode: `GET /health` (says only that this is an imagegen proxy, never the wallet)
 * and `GET /auth/browser` (its one-time code is the credential). In token mode also
 * `GET /v1/identity`: our front doors must see the proof before they send the token.
 */
import type { Socket } from 'node:net'
import type { HttpBindings } from '@hono/node-server'
import type { Context, MiddlewareHandler } from 'hono'
import type { BrowserSessions } from '../../../auth/browser-session.js'
import { BROWSER_AUTH_PATH } from '../../../auth/browser-session.js'
import { IDENTITY_PATH } from '../../../auth/identity.js'
import type { AuthMode } from '../../../auth/mode.js'
import { socketOwner, type Endpoint } from '../../../auth/socket-owner.js'
import { sameSecret } from '../../../auth/token.js'
import { ImagegenError } from '../../../errors.js'

export type CallerAuthOptions = {
  mode: AuthMode
  token: string
  sessions: BrowserSessions
  /** Finds the uid owning the peer's socket (default: the kernel's socket table). */
  ownerOf?: (peer: Endpoint, local: Endpoint) => Promise<number | undefined>
  /** Our uid (default: process.getuid()). */
  uid?: number
}

type Verdict = { uid: number | undefined }

/**
 * Requests admitted by the proxy token itself (our own front doors send it once the proxy proved
 * it is ours). Only these may carry a user's consent to a payment above the confirmation
 * threshold (`X-Imagegen-Consent`, server/http/call-options.ts): a front door that asked the user.
 */
export const admittedByToken = new WeakSet<Request>()

export function callerAuth({ mode, token, sessions, ownerOf = socketOwner, uid = process.getuid?.() ?? -1 }: CallerAuthOptions): MiddlewareHandler {
  const verdicts = new WeakMap<Socket, Promise<Verdict>>()
  const ownerOfSocket = (socket: Socket): Promise<Verdict> => {
    let verdict = verdicts.get(socket)
    if (!verdict) {
      const peer = { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 }
      const local = { address: socket.localAddress ?? '', port: socket.localPort ?? 0 }
      verdict = ownerOf(peer, local).then(
        (owner) => ({ uid: owner }),
        () => ({ uid: undefined }),
      )
      verdicts.set(socket, verdict)
    }
    return verdict
  }

  return async function callerAuth(c, next) {
    if (isPublic(c, mode)) return next()
    const bearer = bearerOf(c.req.header('authorization'))
    if (bearer !== undefined && sameSecret(bearer, token)) {
      admittedByToken.add(c.req.raw)
      return next()
    }
    if ((c.req.method === 'GET' || c.req.method === 'HEAD') && sessions.admits(c.req.header('cookie'))) return next()
    if (mode === 'loopback') return next()
    if (mode === 'token') return unauthorized(c, bearer !== undefined)
    const socket = (c.env as Partial<HttpBindings> | undefined)?.incoming?.socket
    const owner = socket ? (await ownerOfSocket(socket)).uid : undefined
    if (owner === uid) return next()
    if (owner === undefined) return unauthorized(c, bearer !== undefined, 'The owner of this connection is not in the socket table (a client on another machine or in another network namespace).')
    const message = `This proxy serves only the user who runs it (uid ${uid}); this connection belongs to uid ${owner}. Run your own: imagegen serve --port <another port>.`
    if (isPageVisit(c)) return c.html(signInPage(message), 403, SIGN_IN_HEADERS)
    throw new ImagegenError({ status: 403, type: 'invalid_request_error', code: 'forbidden_user', message })
  }
}

/** The sign-in page runs nothing and may not be framed. */
const SIGN_IN_HEADERS = { 'content-security-policy': "default-src 'none'; frame-ancestors 'none'", 'x-frame-options': 'DENY', 'cache-control': 'no-store' }

/** A browser opening a page (the gallery), who should read a page, not a JSON error. */
function isPageVisit(c: Context): boolean {
  return c.req.header('sec-fetch-dest') === 'document' || (c.req.path === '/' && (c.req.header('accept') ?? '').includes('text/html'))
}

/** What a browser without a session sees: how to get one. */
function signInPage(why: string): string {
  const text = why.replace(/[&<>"]/g, (ch) => `&#${ch.charCodeAt(0)};`)
  return (
    '<!doctype html><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>imagegen: sign in</title>' +
    `<h1>This browser is not signed in to the imagegen proxy</h1><p>${text}</p>` +
    '<p>To open the gallery here, run <code>imagegen gallery</code> (or <code>imagegen token --browser --next /</code>) and open the one-time link it prints in this browser.</p>'
  )
}

function isPublic(c: Context, mode: AuthMode): boolean {
  if (c.req.method !== 'GET' && c.req.method !== 'HEAD') return false
  const path = c.req.path
  return path === '/health' || path === BROWSER_AUTH_PATH || (mode === 'token' && path === IDENTITY_PATH)
}

function bearerOf(header: string | undefined): string | undefined {
  const match = header === undefined ? null : /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header)
  return match?.[1]
}

/** 401 with `WWW-Authenticate: Bearer` (RFC 6750), in the OpenAI error shape. */
function unauthorized(c: Context, presented: boolean, why?: string): Response {
  const error = new ImagegenError({
    status: 401,
    type: 'invalid_request_error',
    code: presented ? 'invalid_token' : 'token_required',
    message:
      `${why ? `${why} ` : ''}${presented ? 'The token sent is not this proxy\'s.' : 'This proxy needs its token.'} ` +
      'Send `Authorization: Bearer <token>` (the OpenAI SDK\'s apiKey); `imagegen token` prints it, and `imagegen token --browser` prints a one-time link for a browser.',
  })
  const headers = { 'www-authenticate': `Bearer realm="imagegen"${presented ? ', error="invalid_token"' : ''}` }
  if (isPageVisit(c)) return c.html(signInPage(error.message), 401, { ...headers, ...SIGN_IN_HEADERS })
  return c.json(error.toJSON(), 401, headers)
}
