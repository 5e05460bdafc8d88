/**
 * The proxy's Hono app: security middleware, then the routes, then one error mapper that answers
 * every failure in OpenAI's error shape.
 */
import { Hono } from 'hono'
import { HTTPException } from 'hono/http-exception'
import { ImagegenError, toImagegenError } from '../errors.js'
import { browserSessions } from '../auth/browser-session.js'
import type { AuthMode } from '../auth/mode.js'
import type { ImageService } from '../service.js'
import { bodyLimit, hasBody } from './middleware/body-limit/index.js'
import { callerAuth, type CallerAuthOptions } from './middleware/caller-auth/index.js'
import { consentKey } from './middleware/consent-key/index.js'
import { localOnly } from './middleware/local-only/index.js'
import { authRoutes } from './routes/auth.js'
import { editRoutes } from './routes/edits.js'
import { fileRoutes } from './routes/files.js'
import { galleryRoutes } from './routes/gallery.js'
import { imageRoutes } from './routes/images.js'
import { infoRoutes } from './routes/info.js'
import { receiptRoutes } from './routes/receipts.js'

export type ProxyAppParameters = {
  service: ImageService
  /** The bound port (known after listen). */
  port: () => number
  /** The base URL results and sign-in links use. */
  publicUrl: () => string
  /** Who may call (server/auth/mode.ts), the proxy token, and the consent key (server/auth/token.ts). */
  auth: { mode: AuthMode; token: string; consentKey: string; ownerOf?: CallerAuthOptions['ownerOf'] }
  /** Largest request body; edits carry images, so it follows the input cap. */
  maxBodyBytes?: number
  log?: (line: string) => void
}

/** Routes whose bodies may carry images (edits, and quotes of edits). */
const EDIT_BODY_PATHS: ReadonlySet<string> = new Set(['/v1/images/image2image', '/v1/images/edits', '/v1/images/quote'])

/** Bodies of every route but the edit routes: a prompt and a few fields. */
export const SMALL_BODY_BYTES = 256 * 1024

function limitBody(maxSize: number) {
  return bodyLimit({
    maxSize,
    onError: () => {
      throw new ImagegenError({ status: 413, type: 'invalid_request_error', code: 'body_too_large', message: `The request body is larger than ${maxSize} bytes.` })
    },
  })
}

export function createProxyApp({ service, port, publicUrl, auth, maxBodyBytes, log }: ProxyAppParameters): Hono {
  const app = new Hono()
  const sessions = browserSessions(auth.token, port)
  // Edits carry images (base64 in JSON, or multipart), so their limit follows the input cap;
  // everything else is small.
  const editLimit = maxBodyBytes ?? Math.ceil(service.settings.maxInputBytes * 2.8) + 64 * 1024
  app.use(async (c, next) => {
    await next()
    // Answered without reading the body (refused, too large, no such route): the unread rest
    // would be taken for the next request on a kept-alive connection, so this connection ends.
    if (hasBody(c) && !c.req.raw.bodyUsed) c.res.headers.set('connection', 'close')
  })
  app.use(localOnly({ port, host: service.settings.host, allowedOrigins: service.settings.allowedOrigins }))
  app.use(callerAuth({ mode: auth.mode, token: auth.token, sessions, ...(auth.ownerOf ? { ownerOf: auth.ownerOf } : {}) }))
  app.use(consentKey(auth.consentKey))
  app.use('/v1/images/image2image', limitBody(editLimit))
  app.use('/v1/images/edits', limitBody(editLimit))
  // A quote may carry an edit's images too.
  app.use('/v1/images/quote', limitBody(editLimit))
  app.use('*', async (c, next) => (EDIT_BODY_PATHS.has(c.req.path) ? next() : limitBody(SMALL_BODY_BYTES)(c, next)))
  app.route('/', infoRoutes(service))
  app.route('/', authRoutes({ token: auth.token, mode: auth.mode, wallet: service.wallet.address, policy: service.settings.policy, sessions, publicUrl }))
  app.route('/', fileRoutes(service.store))
  app.route('/', imageRoutes(service))
  app.route('/', editRoutes(service))
  app.route('/', receiptRoutes(service))
  app.route('/', galleryRoutes(service))
  app.notFound((c) => {
    // A route that exists for other methods (GET on a POST route) is a 405 naming them, as HTTP has it.
    const allowed = methodsFor(app, c.req.path)
    if (allowed.length) {
      const error = new ImagegenError({ status: 405, type: 'invalid_request_error', message: `${c.req.path} takes ${allowed.join(' or ')}, not ${c.req.method}.`, code: 'method_not_allowed' })
      return c.json(error.toJSON(), 405, { allow: allowed.join(', ') })
    }
    return c.json(new ImagegenError({ status: 404, type: 'not_found_error', message: `No route ${c.req.method} ${c.req.path}.`, code: 'route_not_found' }).toJSON(), 404)
  })
  app.onError((error, c) => {
    const mapped = error instanceof HTTPException ? new ImagegenError({ status: error.status, type: 'invalid_request_error', message: error.message }) : toImagegenError(error)
    if (mapped.status >= 500) log?.(`${c.req.method} ${c.req.path} → ${mapped.status} ${mapped.message}${mapped.cause instanceof Error ? ` (${mapped.cause.message})` : ''}`)
    return c.json(mapped.toJSON(), mapped.status as 400)
  })
  return app
}

/** The methods the app's routes (not its middleware) answer on `path`; `:name` segments match one segment. */
function methodsFor(app: Hono, path: string): string[] {
  const methods = new Set<string>()
  for (const route of app.routes) {
    if (route.method === 'ALL' || route.path.includes('*')) continue
    const pattern = new RegExp(`^${route.path.split('/').map((part) => (part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('/')}$`)
    if (pattern.test(path)) methods.add(route.method)
  }
  if (methods.has('GET')) methods.add('HEAD')
  return [...methods]
}
