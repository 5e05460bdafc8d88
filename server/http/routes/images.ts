/**
 * `POST /v1/images/generations` and `POST /v1/images/image2image`: parse JSON, hand it to the
 * service, answer in OpenAI's shape. Validation, pricing and payment all happen in the service.
 * `POST /v1/images/quote`: the price of a generation body (or an edit body, with `image`), from
 * the gateway's own 402, with nothing signed.
 */
import { Hono } from 'hono'
import { invalidRequest } from '../../errors.js'
import { quoteJson } from '../../quote.js'
import type { ImageService } from '../../service.js'
import { callOptionsOf } from '../call-options.js'
import { imagesResponse, replayHeaders } from '../respond.js'

export function imageRoutes(service: ImageService): Hono {
  const routes = new Hono()
  routes.post('/v1/images/generations', async (c) => {
    const body = await readJsonBody(c.req.raw)
    const result = await service.generate(body, callOptionsOf(c))
    return c.json(await imagesResponse(result, formatOf(body)), 200, replayHeaders(result))
  })
  routes.post('/v1/images/image2image', async (c) => {
    const body = await readJsonBody(c.req.raw)
    const result = await service.edit(body, callOptionsOf(c))
    return c.json(await imagesResponse(result, formatOf(body)), 200, replayHeaders(result))
  })
  routes.post('/v1/images/quote', async (c) => {
    const body = await readJsonBody(c.req.raw)
    return c.json(quoteJson(await service.quote(body, { signal: c.req.raw.signal })))
  })
  return routes
}

/** Deepest JSON nesting accepted: request bodies here are flat objects. */
export const MAX_JSON_DEPTH = 16

export async function readJsonBody(request: Request): Promise<unknown> {
  const type = request.headers.get('content-type') ?? ''
  if (type && !/^application\/(.+\+)?json\b/i.test(type)) throw invalidRequest('The body must be JSON (Content-Type: application/json).', undefined, 'invalid_content_type')
  const text = await request.text()
  if (jsonDepth(text) > MAX_JSON_DEPTH) throw invalidRequest(`The JSON body is nested deeper than ${MAX_JSON_DEPTH} levels.`, undefined, 'invalid_json')
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw invalidRequest('The body is not valid JSON.', undefined, 'invalid_json')
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw invalidRequest('The body is not a JSON object.', undefined, 'invalid_json')
  return value
}

/** The deepest bracket nesting in `text`, ignoring brackets inside strings; one linear scan. */
export function jsonDepth(text: string): number {
  let depth = 0
  let deepest = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i)
    if (inString) {
      if (ch === 92 /* \\ */) i++
      else if (ch === 34 /* " */) inString = false
    } else if (ch === 34) inString = true
    else if (ch === 123 || ch === 91) deepest = Math.max(deepest, ++depth)
    else if (ch === 125 || ch === 93) depth--
  }
  return deepest
}

function formatOf(body: unknown): 'url' | 'b64_json' {
  return (body as { response_format?: unknown }).response_format === 'b64_json' ? 'b64_json' : 'url'
}
