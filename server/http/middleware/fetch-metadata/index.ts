/**
 * Fetch-metadata guard for the gallery. Browsers say who asked for each request (`Sec-Fetch-Site`,
 * `-Mode`, `-Dest`). The gallery's data, thumbnails and scripts are for its own page only, so a
 * request another page made (an `<img>`, a `<script>`, a `fetch`, a frame) is refused, whichever
 * port or site that page is on; a top-level navigation to the page itself from anywhere (a link,
 * a bookmark, the address bar) goes through, since it shows the page to the user and to nobody
 * else. Requests without these headers (curl, SDKs, our own front doors) are left to the other
 * guards: they are not a web page's doing.
 *
 * The local-only guard refuses foreign `Origin`s; this covers what sends none: `<img>` and
 * `<script>` tags, and navigations into frames (with `frame-ancestors 'none'` on the page).
 *
 * @see https://www.w3.org/TR/fetch-metadata/
 */
import type { MiddlewareHandler } from 'hono'
import { ImagegenError } from '../../../errors.js'

export function ownPageOnly({ navigable = false }: { navigable?: boolean } = {}): MiddlewareHandler {
  return async function ownPageOnly(c, next) {
    const site = c.req.header('sec-fetch-site')
    if (site === undefined || site === 'same-origin' || site === 'none') return next()
    if (navigable && c.req.header('sec-fetch-mode') === 'navigate' && c.req.header('sec-fetch-dest') === 'document') return next()
    throw new ImagegenError({
      status: 403,
      type: 'invalid_request_error',
      code: 'forbidden_origin',
      param: 'sec-fetch-site',
      message: 'The gallery answers only its own page: another web page cannot embed or read it.',
    })
  }
}
