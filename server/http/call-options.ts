/**
 * What an HTTP request says about the call besides its body:
 * - `Idempotency-Key`: the caller's key (24 h); with `X-Imagegen-Reuse: undelivered`, a key our
 *   own front doors derived from a tool call's arguments (only an undelivered result is reused);
 * - `X-Imagegen-Consent: <base units>`: the most the user agreed to pay, above the confirmation
 *   threshold. Honoured only on a request admitted by the proxy token that also presents the
 *   consent key (our front doors, after asking the user); from anyone else it is ignored, so an
 *   HTTP caller cannot consent, even one given the token as its API key.
 * - the connection: when the caller goes away, the request's signal aborts.
 */
import type { Context } from 'hono'
import { invalidRequest } from '../errors.js'
import { IDEMPOTENCY_KEY_PATTERN } from '../schemas.js'
import type { CallOptions } from '../service.js'
import { admittedByToken } from './middleware/caller-auth/index.js'
import { holdsConsentKey } from './middleware/consent-key/index.js'

export const IDEMPOTENCY_HEADER = 'idempotency-key'
export const REUSE_HEADER = 'x-imagegen-reuse'
export const CONSENT_HEADER = 'x-imagegen-consent'

export function callOptionsOf(c: Context): CallOptions {
  const key = c.req.header(IDEMPOTENCY_HEADER)
  if (key !== undefined && !IDEMPOTENCY_KEY_PATTERN.test(key)) throw invalidRequest('The Idempotency-Key header must be 1 to 255 printable ASCII characters without spaces.', 'idempotency_key', 'invalid_idempotency_key')
  const consent = c.req.header(CONSENT_HEADER)
  const consented = consent !== undefined && /^\d{1,20}$/.test(consent) && admittedByToken.has(c.req.raw) && holdsConsentKey.has(c.req.raw) ? BigInt(consent) : undefined
  return {
    signal: c.req.raw.signal,
    ...(key !== undefined ? { idempotency: { key, reuse: c.req.header(REUSE_HEADER) === 'undelivered' ? 'undelivered' : 'always' } } : {}),
    ...(consented !== undefined ? { consented } : {}),
  }
}
