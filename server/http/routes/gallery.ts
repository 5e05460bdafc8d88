/**
 * The gallery, served by the proxy itself:
 * - `GET /`: the page (gallery-page.ts: plain files, strict CSP, no framing);
 * - `GET /gallery/<file>`: its scripts, styles and icon;
 * - `GET /gallery/thumbnails/<image>`: an image's thumbnail, made once and cached (server/gallery/thumbnails.ts);
 * - `GET /v1/gallery?limit=&before=&model=&day=&tz=&q=&source=&facets=1`: images newest first;
 * - `GET /v1/gallery/items/<image>?tz=`: one image with its whole receipt;
 * - `GET /v1/gallery/spend?days=&tz=`: spend per calendar day and model, and the budget's window.
 *
 * Behind the same guards as the API (local-only Host and Origin, caller-auth: the owner, the token
 * or a browser session), plus the fetch-metadata guard: only the gallery's own page may use them.
 * Every answer is private: no CORS header, `Cross-Origin-Resource-Policy: same-origin`, JSON never cached.
 */
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { Readable } from 'node:stream'
import { Hono, type Context } from 'hono'
import { ImagegenError, invalidRequest } from '../../errors.js'
import { isStoredName } from '../../gallery/index.js'
import { Thumbnails } from '../../gallery/thumbnails.js'
import { ImageLibraryUnavailable } from '../../image-library.js'
import type { ImageService } from '../../service.js'
import { PAGE_HEADERS, pageFile } from '../gallery-page.js'
import { ownPageOnly } from '../middleware/fetch-metadata/index.js'

const PRIVATE_JSON = { 'cache-control': 'no-store', 'cross-origin-resource-policy': 'same-origin', 'x-content-type-options': 'nosniff' }

export function galleryRoutes(service: ImageService): Hono {
  const routes = new Hono()
  const thumbnails = new Thumbnails(service.settings.home, service.store.dir)

  routes.use('/', ownPageOnly({ navigable: true }))
  routes.use('/gallery/*', ownPageOnly())
  routes.use('/v1/gallery', ownPageOnly())
  routes.use('/v1/gallery/*', ownPageOnly())

  routes.get('/', (c) => servePage(c, 'index.html'))
  routes.get('/gallery/thumbnails/:file', async (c) => {
    const file = c.req.param('file')
    const found = isStoredName(file) ? await service.store.findImage(file) : undefined
    if (!found) throw new ImagegenError({ status: 404, type: 'not_found_error', code: 'image_not_found', message: 'No such image.' })
    let path = found.path
    let type = 'image/webp'
    let cache = 'private, max-age=31536000, immutable'
    try {
      path = await thumbnails.path(file, found.path)
    } catch (error) {
      if (!(error instanceof ImageLibraryUnavailable)) throw error
      // No sharp on this system: the image itself stands in, and is asked again later.
      type = found.type.mime
      cache = 'private, max-age=300'
    }
    const { size } = await stat(path)
    return c.body(Readable.toWeb(createReadStream(path)) as ReadableStream, 200, {
      'content-type': type,
      'content-length': String(size),
      'cache-control': cache,
      'cross-origin-resource-policy': 'same-origin',
      'x-content-type-options': 'nosniff',
    })
  })
  routes.get('/gallery/:file', (c) => servePage(c, c.req.param('file')))

  routes.get('/v1/gallery', async (c) => {
    const limit = c.req.query('limit')
    const page = await service.gallery({
      before: c.req.query('before'),
      limit: limit === undefined ? undefined : Number(limit),
      model: c.req.query('model'),
      day: c.req.query('day'),
      tz: c.req.query('tz'),
      q: c.req.query('q'),
      source: c.req.query('source') as 'all' | 'ours' | 'elsewhere' | undefined,
      facets: c.req.query('facets') === '1',
    })
    return c.json(page, 200, PRIVATE_JSON)
  })
  routes.get('/v1/gallery/items/:file', async (c) => {
    const item = await service.galleryItem(c.req.param('file'), c.req.query('tz'))
    if (!item) throw new ImagegenError({ status: 404, type: 'not_found_error', code: 'image_not_found', message: `No image ${c.req.param('file').slice(0, 80)} in this proxy's gallery.` })
    return c.json(item, 200, PRIVATE_JSON)
  })
  routes.get('/v1/gallery/spend', async (c) => {
    const days = Number(c.req.query('days') ?? 30)
    if (!Number.isInteger(days) || days < 1 || days > 366) throw invalidRequest('days must be a whole number from 1 to 366.', 'days')
    return c.json(await service.spend(days, c.req.query('tz')), 200, PRIVATE_JSON)
  })
  return routes
}

async function servePage(c: Context, name: string): Promise<Response> {
  const file = await pageFile(name)
  if (!file) {
    if (name === 'index.html')
      throw new ImagegenError({ status: 500, type: 'server_error', code: 'gallery_missing', message: "The gallery page's files are missing from this install (the package's gallery/ folder); reinstall the package." })
    throw new ImagegenError({ status: 404, type: 'not_found_error', code: 'route_not_found', message: `No route GET ${c.req.path}.` })
  }
  const headers = { ...PAGE_HEADERS, etag: file.etag }
  if (c.req.header('if-none-match') === file.etag) return c.body(null, 304, headers)
  return c.body(new Uint8Array(file.body), 200, { ...headers, 'content-type': file.type, 'content-length': String(file.body.length) })
}
