/**
 * Fuzzes every route with generated malformed requests: bad JSON, wrong types, huge values, odd
 * encodings, bad multipart, hostile paths. The proxy must never answer 5xx, never crash, never
 * sign a payment (its per-request cap is one base unit, so even a request that happens to be valid
 * stops at the policy), and stay small.
 */
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startStack, type Stack } from '../helpers/stack.js'

const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000)

const anyValue = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom('nano-banana', 'dall-e-3', 'openai/gpt-image-1', '1024x1024', '99999x99999', '-1', 'url', 'b64_json', '../../etc/passwd', '/etc/passwd', 'C:\\Windows\\win.ini', 'http://169.254.169.254/latest/meta-data', 'file:///etc/passwd', 'data:image/png;base64,AAAA', '~/.ssh/id_rsa'),
  fc.constantFrom(1e308, -0, Number.MAX_SAFE_INTEGER + 2, 2 ** 31),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }),
  fc.integer({ min: 1, max: 300_000 }).map((n) => 'x'.repeat(n)),
)

const fields = fc.record(
  { prompt: anyValue, model: anyValue, size: anyValue, n: anyValue, response_format: anyValue, image: anyValue, mask: anyValue },
  { requiredKeys: [] },
)

const jsonBody = fc.oneof(
  fields.map((f) => JSON.stringify(f)),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.string(),
  fc.integer({ min: 1, max: 5000 }).map((depth) => `${'{"a":['.repeat(depth)}1${']}'.repeat(depth)}`),
  fields.map((f) => JSON.stringify(f).slice(0, -1)),
)

const rawBytes = fc.uint8Array({ maxLength: 2000 })

const multipart = fc.tuple(fc.array(fc.tuple(fc.constantFrom('image', 'mask', 'prompt', 'model', 'n', 'size', 'x', 'image[]'), fc.oneof(fc.string(), fc.constant('\u0089PNG\r\n\u001a\n')), fc.boolean()), { maxLength: 5 }), fc.boolean()).map(([parts, closed]) => {
  const boundary = 'fuzzboundary'
  const body = parts
    .map(([name, value, asFile]) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"${asFile ? '; filename="a.png"\r\nContent-Type: image/png' : ''}\r\n\r\n${value}\r\n`)
    .join('')
  return { body: `${body}${closed ? `--${boundary}--\r\n` : ''}`, type: `multipart/form-data; boundary=${boundary}` }
})

const request = fc.oneof(
  { weight: 4, arbitrary: fc.record({ method: fc.constant('POST'), path: fc.constantFrom('/v1/images/generations', '/v1/images/image2image'), type: fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', ''), body: fc.oneof(jsonBody, rawBytes) }) },
  { weight: 2, arbitrary: multipart.map(({ body, type }) => ({ method: 'POST', path: '/v1/images/edits', type, body })) },
  { weight: 1, arbitrary: fc.record({ method: fc.constant('POST'), path: fc.constant('/v1/images/edits'), type: fc.constantFrom('multipart/form-data', 'multipart/form-data; boundary=', 'application/json'), body: fc.oneof(jsonBody, rawBytes) }) },
  { weight: 2, arbitrary: fc.record({ method: fc.constant('GET'), path: fc.oneof(fc.string().map((s) => `/images/${encodeURIComponent(s)}`), fc.constantFrom('/images/..%2F..%2Fwallet.key', '/images/%2e%2e/ledger.jsonl', '/images/', '/images//etc/passwd', '/v1/usage?days=-1', '/v1/usage?days=abc', '/v1/usage?days=99999999')), type: fc.constant(''), body: fc.constant('') }) },
  { weight: 1, arbitrary: fc.record({ method: fc.constantFrom('PUT', 'DELETE', 'PATCH', 'OPTIONS', 'POST', 'GET'), path: fc.string().map((s) => `/${encodeURIComponent(s)}`), type: fc.constant('application/json'), body: jsonBody }) },
)

describe(`fuzz: ${RUNS} malformed requests`, () => {
  let stack: Stack
  const statuses: Record<number, number> = {}
  beforeAll(async () => {
    stack = await startStack({ settings: { maxPerRequest: '0.000001' } })
  })
  afterAll(async () => stack?.close())

  it('never answers 5xx, never pays', async () => {
    await fc.assert(
      fc.asyncProperty(request, async ({ method, path, type, body }) => {
        const response = await fetch(`${stack.proxy.url}${path}`, {
          method,
          headers: type ? { 'content-type': type } : {},
          ...(method === 'GET' || method === 'OPTIONS' ? {} : { body: typeof body === 'string' ? body : new Uint8Array(body) }),
        })
        const text = await response.text()
        statuses[response.status] = (statuses[response.status] ?? 0) + 1
        if (response.status >= 500) throw new Error(`${method} ${path} → ${response.status}: ${text.slice(0, 300)}`)
        if (response.status >= 400) expect(JSON.parse(text).error.message).toBeTruthy()
      }),
      { numRuns: RUNS, seed: Number(process.env.FUZZ_SEED ?? 42) },
    )
    console.log('statuses', statuses)
    expect(stack.sandbox.counters.authorizations).toBe(0)
    expect(stack.sandbox.usdc.transfers).toHaveLength(0)
  }, 900_000)

  it('is healthy and small afterwards', async () => {
    expect((await stack.get('/health')).status).toBe(200)
    const rss = process.memoryUsage().rss
    console.log(`test process (proxy in-process) rss ${(rss / 2 ** 20).toFixed(0)} MiB`)
    expect(rss).toBeLessThan(1024 * 2 ** 20)
  })
})
