/**
 * The sandbox's image2image checks what the proxy forwards, as the gateway would: these requests
 * go straight to the sandbox, so a proxy that forwarded any of them would fail the end-to-end tests.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startSandbox, type RunningSandbox } from '../server/sandbox/server.js'
import { makeImage, makeMask, makeNoisePng } from './helpers/images.js'

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

  it('passes several images on the models that fuse them: up to 3 on Google models, 4 on OpenAI models', async () => {
    const jpeg = await makeImage(50, 50, 'jpeg')
    expect((await post({ model: 'google/nano-banana', image: [uri(png), uri(jpeg, 'image/jpeg'), uri(png)] })).status).toBe(402)
    expect((await post({ model: 'openai/gpt-image-2', image: [uri(png), uri(png), uri(png), uri(jpeg, 'image/jpeg')] })).status).toBe(402)
  })

  it('records what it received, on the sandbox object and at /_sandbox/received (without the bytes)', async () => {
    const mask = await makeMask(200, 100)
    await post({ image: uri(png), mask: uri(mask) })
    const last = sandbox.edits.received.at(-1)!
    expect(last).toMatchObject({ model: 'openai/gpt-image-1', paid: false, imageForm: 'string', images: [{ mime: 'image/png', width: 200, height: 100 }] })
    expect(last.images[0]!.bytes.equals(png)).toBe(true)
    expect(last.mask!.bytes.equals(mask)).toBe(true)
    const summary = (await (await fetch(`${sandbox.url}/_sandbox/received`)).json()) as { received: Array<{ images: Array<{ bytes: number }>; error?: string }> }
    expect(summary.received.at(-1)!.images[0]!.bytes).toBe(png.length)
    await post({ image: [uri(png)] })
    expect(sandbox.edits.received.at(-1)!.error).toMatch(/send a single image as a string/)
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
    ['a mask on a Google model', async () => ({ model: 'google/nano-banana', image: uri(png), mask: uri(await makeMask(200, 100)) }), /google\/nano-banana does not support mask-based editing/],
    ['a mask with several images', async () => ({ image: [uri(png), uri(png)], mask: uri(await makeMask(200, 100)) }), /mask cannot be combined with multiple images/],
    ['4 images on a Google model', async () => ({ model: 'google/nano-banana-pro', image: [uri(png), uri(png), uri(png), uri(png)] }), /2 to 3 images for google\/nano-banana-pro/],
    ['5 images on an OpenAI model', async () => ({ image: Array(5).fill(uri(png)) }), /2 to 4 images for openai\/gpt-image-1/],
    ['an array of one image (one image goes as a string)', async () => ({ image: [uri(png)] }), /send a single image as a string/],
    ['a URL among several images', async () => ({ model: 'google/nano-banana', image: [uri(png), 'https://example.com/b.png'] }), /image\[1\] must be a base64 data URI/],
    ['a data URI that does not declare an image type', async () => ({ image: uri(png, 'application/octet-stream') }), /base64 data URI of an image/],
    ['an image over 4,000,000 bytes', async () => ({ image: uri(await makeNoisePng(1200, 1200)) }), /over the 4000000-byte limit per image/],
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
