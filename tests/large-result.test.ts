import { createHash } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { renderNoise } from '../server/sandbox/render.js'
import { untagged } from './helpers/images.js'
import { startStack } from './helpers/stack.js'

/**
 * A 4096x4096 noise PNG (about 50 MB; 67 MB as base64) in every result form the gateway uses
 * arrives byte-exact: decoded while streaming (b64_json, data URI, a 202 job's data URI) or
 * downloaded (hosted URL). Memory is the benchmark's business (`npm run bench`), not this test's.
 */
describe('a 4096x4096 result in each form', () => {
  let expected: string
  let size: number
  beforeAll(async () => {
    const png = await renderNoise({ prompt: '', width: 4096, height: 4096, index: 0 })
    size = png.length
    expected = createHash('sha256').update(png).digest('hex')
  }, 120_000)

  for (const form of ['b64_json', 'data_uri', 'job', 'url'] as const) {
    it(form, async () => {
      const stack = await startStack({ sandbox: { forms: form, noise: true } })
      try {
        const { status, body } = await stack.post('/v1/images/generations', { model: 'nano-banana-pro', prompt: `large ${form}`, size: '4096x4096' })
        expect(status, JSON.stringify(body)).toBe(200)
        const file = await readFile(body.data[0].path)
        expect(untagged(file).length).toBe(size)
        expect(createHash('sha256').update(untagged(file)).digest('hex')).toBe(expected)
        expect(stack.sandbox.usdc.transfers).toHaveLength(1)
        // Nothing left behind: one image, no temp files.
        expect(await readdir(join(stack.home, 'images'))).toEqual([body.data[0].file])
      } finally {
        await stack.close()
      }
    }, 120_000)
  }

  it('n=2 images in one b64_json body, each byte-exact', async () => {
    const second = createHash('sha256').update(await renderNoise({ prompt: '', width: 2048, height: 2048, index: 1 })).digest('hex')
    const first = createHash('sha256').update(await renderNoise({ prompt: '', width: 2048, height: 2048, index: 0 })).digest('hex')
    const stack = await startStack({ sandbox: { forms: 'b64_json', noise: true } })
    try {
      const { status, body } = await stack.post('/v1/images/generations', { model: 'nano-banana-pro', prompt: 'two', size: '2048x2048', n: 2 })
      expect(status, JSON.stringify(body)).toBe(200)
      const hashes = await Promise.all(body.data.map(async (d: { path: string }) => createHash('sha256').update(untagged(await readFile(d.path))).digest('hex')))
      expect(hashes).toEqual([first, second])
    } finally {
      await stack.close()
    }
  }, 120_000)
})
