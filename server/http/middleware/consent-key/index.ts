/**
 * Marks requests that carry the consent key (server/auth/token.ts): only these may carry a user's
 * consent to a payment above the confirmation threshold (`X-Imagegen-Consent`,
 * server/http/call-options.ts). Our own front doors send the key after the proxy proved it is ours
 * and the user said yes; an HTTP client given the proxy token as its API key does not hold it.
 */
import type { MiddlewareHandler } from 'hono'
import { sameSecret } from '../../../auth/token.js'

export const CONSENT_KEY_HEADER = 'x-imagegen-consent-key'

/** Requests that presented the consent key. */
export const holdsConsentKey = new WeakSet<Request>()

export function consentKey(key: string): MiddlewareHandler {
  return async function consentKey(c, next) {
    const presented = c.req.header(CONSENT_KEY_HEADER)
    if (presented !== undefined && sameSecret(presented, key)) holdsConsentKey.add(c.req.raw)
    await next()
  }
}
