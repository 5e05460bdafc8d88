/**
 * `GET /images/<file>`: stored images, by names we wrote and nothing else.
 */
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { Readable } from 'node:stream'
import { Hono } from 'hono'
import { ImagegenError } from '../../errors.js'
import type { ImageStore } from '../../store/images.js'
import { imageTypeForExtension } from '../../store/sniff.js'

export function fileRoutes(store: ImageStore): Hono {
  const routes = new Hono()
  routes.get('/images/:file', async (c) => {
    const file = c.req.param('file')
    const path = await store.find(file)
    if (!path) throw new ImagegenError({ status: 404, type: 'not_found_error', message: 'No such image.', code: 'image_not_found' })
    const type = imageTypeForExtension(file.slice(file.lastIndexOf('.') + 1))!
    const { size } = await stat(path)
    const body = Readable.toWeb(createReadStream(path)) as ReadableStream
    return c.body(body, 200, {
      'content-type': type.mime,
      'content-length': String(size),
      'cache-control': 'private, max-age=31536000, immutable',
      'x-content-type-options': 'nosniff',
    })
  })
  return routes
}
