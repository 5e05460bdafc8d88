/**
 * Where a 202 job is polled. The upstream chooses `poll_url`, and every poll carries the job's
 * payment, so the URL must not steer the proxy (or the authorization) anywhere else:
 *
 * - a path is taken on the API's origin: the gateway answers `/api/v1/images/generations/{id}`
 *   for `https://blockrun.ai/api` (REFERENCE.md §1; Franklin and ClawRouter resolve it so);
 * - an absolute URL on the API's own origin is polled like any upstream request;
 * - an absolute URL on another origin is polled only over https and only through the same
 *   address guard as downloads (no loopback, LAN, link-local or cloud-metadata address, checked on
 *   the very addresses the socket connects to), on a connection of its own;
 * - anything else is refused before a single poll.
 */
import type { LookupFunction } from 'node:net'
import { isIP } from 'node:net'
import { upstreamError, type ImagegenError } from '../errors.js'
import type { AddressPolicy } from '../inputs/address-policy.js'
import { checkLiteralAddress, guardedLookup } from '../inputs/guarded-lookup.js'

export type PollTarget = {
  url: URL
  /** Set for another origin: the guarded DNS lookup its (unpooled) connections must use. */
  lookup?: LookupFunction
}

export type PollTargetParameters = {
  pollUrl: unknown
  /** The API's base URL, e.g. https://blockrun.ai/api */
  baseUrl: string
  /** Settings.allowPrivateUrls: loopback and LAN addresses allowed (link-local and metadata never). */
  allowPrivate: boolean
}

export function pollTarget({ pollUrl, baseUrl, allowPrivate }: PollTargetParameters): PollTarget {
  if (typeof pollUrl !== 'string' || pollUrl.trim() === '') throw badJob('The upstream accepted the job (202) but gave no poll_url to follow.')
  const base = new URL(baseUrl)
  const text = pollUrl.trim()
  // A path (not a protocol-relative //host, which names another origin) is on the API's origin.
  const url = text.startsWith('/') && !text.startsWith('//') ? new URL(text, base.origin) : URL.canParse(text) ? new URL(text) : undefined
  if (!url) throw badJob(`The upstream gave a poll_url that is not a URL or a path (${JSON.stringify(text.slice(0, 100))}).`)
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw badJob(`The upstream gave a poll_url that is not http(s) (${url.protocol}).`)
  if (url.username || url.password) throw badJob('The upstream gave a poll_url with credentials in it.')
  if (url.origin === base.origin) return { url }
  if (url.protocol !== 'https:') throw badJob(`The upstream's poll_url points at another origin over plain http (${url.origin}); the job's payment is only sent there over https.`)
  const policy: AddressPolicy = { allowPrivate }
  const literal = isIP(url.hostname.replace(/^\[|\]$/g, '')) ? checkLiteralAddress(url.hostname, policy) : undefined
  if (literal) throw badJob(`The upstream's poll_url points at ${url.origin}, and ${literal.message}; it is not polled.`, 'poll_url_refused')
  return { url, lookup: guardedLookup(policy) }
}

function badJob(message: string, code = 'bad_job'): ImagegenError {
  return upstreamError(message, undefined, code)
}
