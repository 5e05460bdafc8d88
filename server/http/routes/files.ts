/**
 * `GET /images/<file>`: stored images, by names we wrote and nothing else, and the images
 * BlockRun's ClawRouter saved into the same folder under its own strict names (typed by their
 * bytes), so the URLs it handed out for this port keep working when our proxy holds it.
 */
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { Readable } from 'node:stream'
import { Hono } from 'hono'
import { ImagegenError } from '../../errors.js'
import type { ImageStore } from '../../store/images.js'

export function fileRoutes(store: ImageStore): Hono {
  const routes = new Hono()
  routes.get('/images/:file', async (c) => {
    const found = await store.findImage(c.req.param('file'))
    if (!found) throw new ImagegenError({ status: 404, type: 'not_found_error', message: 'No such image.', code: 'image_not_found' })
    const { size } = await stat(found.path)
    const body = Readable.toWeb(createReadStream(found.path)) as ReadableStream
    return c.body(body, 200, {
      'content-type': found.type.mime,
      'content-length': String(size),
      'cache-control': 'private, max-age=31536000, immutable',
      'x-content-type-options': 'nosniff',
    })
  })
  return routes
}
