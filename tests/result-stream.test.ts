import { randomBytes } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Base64Decoder } from '../server/upstream/base64-stream.js'
import { JsonSkeletonScanner, type JsonPath, type StringSink } from '../server/upstream/json-scan.js'
import { encodeJsonBody, InlineData } from '../server/upstream/request-body.js'

/** Feeds `text` to a scanner in pieces cut at `cuts`, diverting data[i].b64_json; returns the skeleton and diverted strings. */
function scan(text: string, cuts: number[]) {
  const diverted: Record<string, string> = {}
  const scanner = new JsonSkeletonScanner({
    maxSkeleton: 1 << 20,
    divert(path: JsonPath): StringSink | undefined {
      if (path.length !== 3 || path[0] !== 'data' || typeof path[1] !== 'number' || path[2] !== 'b64_json') return undefined
      const key = path.join('.')
      diverted[key] = ''
      return { write: (t) => void (diverted[key] += t), end: () => {} }
    },
  })
  let last = 0
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    scanner.push(text.slice(last, cut))
    last = cut
  }
  scanner.push(text.slice(last))
  return { value: scanner.finish() as any, diverted }
}

describe('JSON skeleton scanner', () => {
  it('diverts exactly the chosen strings, with escapes, whatever the chunking', () => {
    const doc = {
      created: 1,
      note: 'a "quoted" \\ value with \u00e9 and \ud83d\ude00',
      data: [
        { b64_json: 'QUJD\\/+/=\n"\u0001\u2028', revised_prompt: 'p "1"' },
        { url: 'https://x/y', b64_json: 'x'.repeat(300) },
      ],
      'da\\ta': { b64_json: 'not diverted' },
      nested: { data: [{ b64_json: 'not diverted either' }] },
    }
    const text = JSON.stringify(doc, null, 1)
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: text.length }), { maxLength: 12 }), (cuts) => {
        const { value, diverted } = scan(text, cuts)
        expect(diverted).toEqual({ 'data.0.b64_json': doc.data[0]!.b64_json, 'data.1.b64_json': doc.data[1]!.b64_json })
        expect(value).toEqual({ ...doc, data: [{ ...doc.data[0], b64_json: null }, { ...doc.data[1], b64_json: null }] })
      }),
      { numRuns: 300 },
    )
  })

  it('refuses truncated or malformed documents, and a skeleton over its cap', () => {
    expect(() => scan('{"data":[{"b64_json":"QUJD', [5])).toThrow(SyntaxError)
    expect(() => scan('{"data":[{"b64_json":"QUJD"}]', [])).toThrow(SyntaxError)
    expect(() => scan('{"data":[{"b64_json":"QU\\qJD"}]}', [])).toThrow(SyntaxError)
    expect(() => scan('{"data" "x"}', [])).toThrow(SyntaxError)
    expect(scan('  ', []).value).toBeUndefined()
    const scanner = new JsonSkeletonScanner({ maxSkeleton: 10, divert: () => undefined })
    expect(() => scanner.push('{"a":"0123456789"}')).toThrow(RangeError)
  })
})

describe('streamed base64', () => {
  it('decodes to the same bytes as Buffer.from on the whole text, however it is cut', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 200 }),
        fc.constantFrom('plain', 'unpadded', 'lines', 'urlsafe'),
        fc.array(fc.nat(), { maxLength: 8 }),
        (bytes, style, rawCuts) => {
          let text = Buffer.from(bytes).toString(style === 'urlsafe' ? 'base64url' : 'base64')
          if (style === 'unpadded') text = text.replace(/=+$/, '')
          if (style === 'lines') text = text.replace(/(.{7})/g, '$1\r\n')
          const out: Buffer[] = []
          const decoder = new Base64Decoder((b) => out.push(b))
          let last = 0
          for (const cut of rawCuts.map((c) => c % (text.length + 1)).sort((a, b) => a - b)) {
            decoder.write(text.slice(last, cut))
            last = cut
          }
          decoder.write(text.slice(last))
          decoder.end()
          expect(Buffer.concat(out).equals(Buffer.from(bytes))).toBe(true)
        },
      ),
      { numRuns: 500 },
    )
  })
})

describe('request bodies', () => {
  async function bytesOf(body: string | ReadableStream<Uint8Array>): Promise<Buffer> {
    if (typeof body === 'string') return Buffer.from(body)
    return Buffer.from(await new Response(body).arrayBuffer())
  }

  it('sends big base64 strings as they are, byte for byte what JSON.stringify would give, more than once', async () => {
    const image = `data:image/png;base64,${randomBytes(3 * 1024 * 1024 + 1).toString('base64')}`
    const mask = randomBytes(400 * 1024).toString('base64')
    const value = { model: 'openai/gpt-image-1', prompt: 'a "quoted" prompt \u00e9', image, mask, n: 1 }
    const encoded = encodeJsonBody(value)
    const expected = Buffer.from(JSON.stringify(value))
    expect(encoded.length).toBe(expected.length)
    for (let attempt = 0; attempt < 2; attempt++) {
      const body = encoded.open()
      expect(typeof body).not.toBe('string')
      expect((await bytesOf(body)).equals(expected)).toBe(true)
    }
  })

  it('escapes big strings that need it, without cutting surrogate pairs', async () => {
    const odd = `${'\ud83d\ude00'.repeat(300_000)}"\\\n${'é'.repeat(200_000)}`
    const value = { prompt: odd, image: `data:image/png;base64,${'A'.repeat(300_000)}\n` }
    const encoded = encodeJsonBody(value)
    const expected = Buffer.from(JSON.stringify(value))
    expect(encoded.length).toBe(expected.length)
    expect((await bytesOf(encoded.open())).equals(expected)).toBe(true)
  })

  it('never sends a character JSON would escape raw, wherever it hides in a big string', async () => {
    const base = randomBytes(300 * 1024).toString('base64')
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: base.length }), fc.constantFrom('"', '\\', '\n', '\u0001', 'é', '\u2028', '='), fc.boolean(), async (at, char, dataUri) => {
        const image = `${dataUri ? 'data:image/png;base64,' : ''}${base.slice(0, at)}${char}${base.slice(at)}`
        const encoded = encodeJsonBody({ image })
        const expected = Buffer.from(JSON.stringify({ image }))
        expect(encoded.length).toBe(expected.length)
        expect((await bytesOf(encoded.open())).equals(expected)).toBe(true)
      }),
      { numRuns: 60 },
    )
  })

  it('streams InlineData as the data URI string JSON.stringify would give, for any length', async () => {
    for (const size of [0, 1, 2, 3, 786_431, 786_432, 786_433, 2 * 786_432 + 2]) {
      const bytes = randomBytes(size)
      const image = new InlineData('image/png', bytes)
      const value = { model: 'openai/gpt-image-1', prompt: 'inline', image, mask: new InlineData('image/png', bytes.subarray(0, 10)), n: 1 }
      const encoded = encodeJsonBody(value)
      const expected = Buffer.from(JSON.stringify({ ...value, image: `data:image/png;base64,${bytes.toString('base64')}`, mask: `data:image/png;base64,${bytes.subarray(0, 10).toString('base64')}` }))
      expect(encoded.length).toBe(expected.length)
      for (let attempt = 0; attempt < 2; attempt++) expect((await bytesOf(encoded.open())).equals(expected)).toBe(true)
    }
  })

  it('keeps small bodies as plain JSON text', () => {
    const encoded = encodeJsonBody({ prompt: 'hi', n: 1 })
    expect(encoded.open()).toBe('{"prompt":"hi","n":1}')
    expect(encoded.length).toBe(21)
  })
})
