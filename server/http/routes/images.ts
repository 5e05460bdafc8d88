/**
 * `POST /v1/images/generations` and `POST /v1/images/image2image`: parse JSON, hand it to the
 * service, answer in OpenAI's shape. Validation, pricing and payment all happen in the service.
 */
import { Hono } from 'hono'
import { invalidRequest } from '../../errors.js'
import type { ImageService } from '../../service.js'
import { imagesResponse } from '../respond.js'

export function imageRoutes(service: ImageService): Hono {
  const routes = new Hono()
  routes.post('/v1/images/generations', async (c) => {
    const body = await readJsonBody(c.req.raw)
    const result = await service.generate(body, { signal: c.req.raw.signal })
    return c.json(await imagesResponse(result, formatOf(body)))
  })
  routes.post('/v1/images/image2image', async (c) => {
    const body = await readJsonBody(c.req.raw)
    const result = await service.edit(body, { signal: c.req.raw.signal })
    return c.json(await imagesResponse(result, formatOf(body)))
  })
  return routes
}

export async function readJsonBody(request: Request): Promise<unknown> {
  const type = request.headers.get('content-type') ?? ''
  if (type && !/^application\/(.+\+)?json\b/i.test(type)) throw invalidRequest('The body must be JSON (Content-Type: application/json).', undefined, 'invalid_content_type')
  const text = await request.text()
  try {
    const value: unknown = JSON.parse(text)
    if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error('not an object')
    return value
  } catch {
    throw invalidRequest('The body is not a JSON object.', undefined, 'invalid_json')
  }
}

function formatOf(body: unknown): 'url' | 'b64_json' {
  return (body as { response_format?: unknown }).response_format === 'b64_json' ? 'b64_json' : 'url'
}
