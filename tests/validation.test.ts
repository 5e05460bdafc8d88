import { readdir } from 'node:fs/promises'
import { request } from 'node:http'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startStack, type Stack } from './helpers/stack.js'

/** Each bad request: what to send, the expected `param`, and a phrase the message must contain. */
const CASES: Array<{ name: string; body: unknown; param: string | null; says: RegExp }> = [
  { name: 'unknown model', body: { model: 'midjourney', prompt: 'x' }, param: 'model', says: /Unknown model "midjourney".*google\/nano-banana/ },
  { name: 'size the model does not take (one the old skill taught for it)', body: { model: 'nano-banana', prompt: 'x', size: '1216x832' }, param: 'size', says: /google\/nano-banana does not take size 1216x832\. Sizes it accepts: 1024x1024\.$/ },
  { name: 'malformed aspect ratio', body: { prompt: 'x', aspect_ratio: 'tall' }, param: 'aspect_ratio', says: /square, portrait, landscape/ },
  { name: 'aspect ratio of zero', body: { prompt: 'x', aspect_ratio: '0:9' }, param: 'aspect_ratio', says: /two positive numbers/ },
  { name: 'unknown quality', body: { prompt: 'x', quality: 'ultra' }, param: 'quality', says: /standard, hd/ },
  { name: 'malformed size', body: { prompt: 'x', size: 'big' }, param: 'size', says: /WIDTHxHEIGHT/ },
  { name: 'n above the gateway limit', body: { prompt: 'x', n: 5 }, param: 'n', says: /at most 4/ },
  { name: 'n zero', body: { prompt: 'x', n: 0 }, param: 'n', says: /at least 1/ },
  { name: 'n not a whole number', body: { prompt: 'x', n: 1.5 }, param: 'n', says: /whole number/ },
  { name: 'n as a string', body: { prompt: 'x', n: '2' }, param: 'n', says: /number/ },
  { name: 'missing prompt', body: { model: 'flux' }, param: 'prompt', says: /^prompt is required$/ },
  { name: 'prompt given as null', body: { prompt: null, size: null }, param: 'prompt', says: /^prompt is required$/ },
  { name: 'empty prompt', body: { prompt: '   ' }, param: 'prompt', says: /must not be empty/ },
  { name: 'prompt over every model limit', body: { prompt: 'x'.repeat(40_000) }, param: 'prompt', says: /longer than/ },
  { name: 'prompt over this model limit', body: { model: 'nano-banana', prompt: 'x'.repeat(9000) }, param: 'prompt', says: /google\/nano-banana takes \(8000 characters\)/ },
  { name: 'bad response_format', body: { prompt: 'x', response_format: 'png' }, param: 'response_format', says: /url|b64_json/ },
  { name: 'invalid JSON', body: '{"prompt": ', param: null, says: /not valid JSON/ },
  { name: 'JSON nested too deep', body: `{"prompt":"x","a":${'['.repeat(100)}${']'.repeat(100)}}`, param: null, says: /nested deeper/ },
  { name: 'JSON array', body: '[1,2]', param: null, says: /not a JSON object/ },
]

describe('bad input is refused before any upstream call or payment', () => {
  let stack: Stack
  beforeAll(async () => {
    stack = await startStack()
  })
  afterAll(async () => stack.close())

  for (const { name, body, param, says } of CASES) {
    it(name, async () => {
      const { status, body: error } = await stack.post('/v1/images/generations', body)
      expect(status).toBe(400)
      expect(error).toEqual({ error: { message: expect.stringMatching(says), type: 'invalid_request_error', param, code: expect.any(String) } })
    })
  }

  it('made zero upstream requests and wrote nothing', async () => {
    // Nothing but reads of the (free) model catalog, which the first request with a model name needs.
    expect(stack.sandbox.counters.imageRequests).toBe(0)
    expect(stack.sandbox.counters.requests).toBe(stack.sandbox.counters.catalogRequests)
    expect(stack.sandbox.counters.catalogRequests).toBeLessThanOrEqual(1)
    expect(stack.sandbox.usdc.transfers).toHaveLength(0)
    const files = await readdir(join(stack.home, 'images')).catch(() => [])
    expect(files).toEqual([])
  })

  it('refuses a generation body over the small-body limit with a 413', async () => {
    const { status, body } = await stack.post('/v1/images/generations', { prompt: 'x', padding: 'y'.repeat(300 * 1024) })
    expect(status).toBe(413)
    expect(body.error.code).toBe('body_too_large')
  })

  it('refuses a non-JSON content type', async () => {
    const { status, body } = await stack.post('/v1/images/generations', 'prompt=x', { 'content-type': 'application/x-www-form-urlencoded' })
    expect(status).toBe(400)
    expect(body.error.code).toBe('invalid_content_type')
  })

  it('answers unknown routes with a 404 in the same shape', async () => {
    const response = await stack.get('/v1/nothing')
    expect(response.status).toBe(404)
    expect((await response.json()).error.type).toBe('not_found_error')
  })
})

describe('null means not given, as in OpenAI\'s API', () => {
  let stack: Stack
  beforeAll(async () => {
    stack = await startStack()
  })
  afterAll(async () => stack.close())

  it('generates with model, size, n and response_format all null: the defaults, one paid image', async () => {
    const { status, body } = await stack.post('/v1/images/generations', { prompt: 'nulls everywhere', model: null, size: null, n: null, response_format: null })
    expect(status, JSON.stringify(body)).toBe(200)
    expect(body.model).toBe('google/nano-banana')
    expect(body.size).toBe('1024x1024')
    expect(body.data).toHaveLength(1)
    expect(body.data[0].b64_json).toBeUndefined()
    expect(stack.sandbox.usdc.transfers).toHaveLength(1)
  })
})

describe('local-only guard', () => {
  let stack: Stack
  beforeAll(async () => {
    stack = await startStack()
  })
  afterAll(async () => stack.close())

  it('refuses a foreign Host header (DNS rebinding)', async () => {
    // fetch will not send a Host of our choosing; node:http will, as a rebinding browser would.
    expect(await statusWithHost(stack.proxy.port, `evil.example:${stack.proxy.port}`)).toBe(403)
    expect(await statusWithHost(stack.proxy.port, `127.0.0.1:${stack.proxy.port + 1}`)).toBe(403)
    expect(await statusWithHost(stack.proxy.port, `localhost:${stack.proxy.port}`)).toBe(200)
  })

  it('refuses a web page origin, and CORS preflights', async () => {
    const posted = await stack.post('/v1/images/generations', { prompt: 'x' }, { origin: 'https://evil.example' })
    expect(posted.status).toBe(403)
    expect(posted.headers.get('access-control-allow-origin')).toBeNull()
    const preflight = await fetch(`${stack.proxy.url}/v1/images/generations`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } })
    expect(preflight.status).toBe(403)
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull()
    expect(stack.sandbox.counters.requests).toBe(0)
  })

  it('accepts loopback names and origins', async () => {
    expect((await stack.get('/health', { origin: `http://localhost:3000` })).status).toBe(200)
  })

  it('serves only names it wrote', async () => {
    for (const path of ['/images/..%2Fwallet.key', '/images/wallet.key', '/images/%2e%2e%2fledger.jsonl', '/images/1795552360411-00a37b700bf718a2.png']) {
      const response = await stack.get(path)
      expect(response.status, path).toBe(404)
    }
  })
})

function statusWithHost(port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/health', headers: { host } }, (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
    })
    req.on('error', reject)
    req.end()
  })
}
