/**
 * The sandbox's image2image checks what the proxy forwards, as the gateway would: these requests
 * go straight to the sandbox, so a proxy that forwarded any of them would fail the end-to-end tests.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startSandbox, type RunningSandbox } from '../server/sandbox/server.js'
import { makeImage, makeMask } from './helpers/images.js'

describe('sandbox image2image input checks', () => {
  let sandbox: RunningSandbox
  let png: Buffer
  const uri = (bytes: Buffer, mime = 'image/png') => `data:${mime};base64,${bytes.toString('base64')}`
  const post = async (fields: Record<string, unknown>) => {
    const response = await fetch(`${sandbox.url}/v1/images/image2image`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'openai/gpt-image-1', prompt: 'x', ...fields }),
    })
    return { status: response.status, body: (await response.json()) as { error?: string } }
  }

  beforeAll(async () => {
    sandbox = await startSandbox()
    png = await makeImage(200, 100)
  })
  afterAll(async () => sandbox.close())

  it('passes a real image with a matching PNG mask on to the paywall (402)', async () => {
    expect((await post({ image: uri(png), mask: uri(await makeMask(200, 100)) })).status).toBe(402)
    const jpeg = await makeImage(50, 50, 'jpeg')
    expect((await post({ image: uri(jpeg, 'image/jpeg') })).status).toBe(402)
  })

  const refusals: Array<[string, () => Promise<Record<string, unknown>>, RegExp]> = [
    ['a URL instead of a data URI', async () => ({ image: 'https://example.com/a.png' }), /base64 data URI/],
    ['a local path', async () => ({ image: '/tmp/a.png' }), /base64 data URI/],
    ['text in a data URI', async () => ({ image: uri(Buffer.from('hello world, not an image')) }), /not a PNG, JPEG or WebP/],
    ['a declared type that does not match the bytes', async () => ({ image: uri(png, 'image/jpeg') }), /declared as image\/jpeg but its bytes are image\/png/],
    ['a truncated PNG', async () => ({ image: uri(png.subarray(0, png.length - 40)) }), /does not decode/],
    ['a JPEG mask', async () => ({ image: uri(png), mask: uri(await makeMask(200, 100, 'jpeg'), 'image/jpeg') }), /mask must be a PNG/],
    ['a mask of another size', async () => ({ image: uri(png), mask: uri(await makeMask(100, 100)) }), /mask is 100x100 but image is 200x100/],
    ['no image', async () => ({}), /image is required/],
  ]
  for (const [name, fields, message] of refusals) {
    it(`refuses ${name} with a 400, not a 402`, async () => {
      const before = { ...sandbox.facilitator.stats }
      const { status, body } = await post(await fields())
      expect(status).toBe(400)
      expect(body.error).toMatch(message)
      expect(sandbox.facilitator.stats).toEqual(before)
      expect(sandbox.usdc.transfers).toHaveLength(0)
    })
  }
})
