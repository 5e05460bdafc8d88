/**
 * Edits as the gateway takes them, end to end: several reference images on the models that fuse
 * them, masks in the gateway's convention, inputs over its 4 MB cap. The real proxy in front of
 * the sandbox, which checks what the gateway checks and records what it received
 * (`sandbox.edits.received`), so each test looks at what would have reached BlockRun.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bundledCatalog } from '../server/catalog/index.js'
import { GATEWAY_MAX_IMAGE_BYTES, pixelDigest } from '../server/sandbox/edit-inputs.js'
import { expectedEdit, expectRefusedUnsigned, lastPaidEdit, snapshot, untagged } from './helpers/edits.js'
import { alphaOf, makeImage, makeMask, makeNoiseJpeg } from './helpers/images.js'
import { readJsonResponse, startStack, type Stack } from './helpers/stack.js'

const FEE = 1000n
/** At 1024x1024: the list price × n × 1.05 (the gateway's margin) + the fee. */
const priceOf = (model: string, n = 1) => (bundledCatalog().find(model)!.model.prices['1024x1024']! * BigInt(n) * 105n) / 100n + FEE

describe('several reference images, masks and the size cap, through the proxy and the sandbox', () => {
  let stack: Stack
  let dir: string
  let shirt: Buffer
  let logo: Buffer
  let photo: Buffer
  const path = (name: string) => join(dir, name)
  const edit = (fields: Record<string, unknown>) => stack.post('/v1/images/image2image', { prompt: 'change it', ...fields })
  const pixelsOf = async (bytes: Buffer) => (await pixelDigest(bytes)).pixels

  beforeAll(async () => {
    stack = await startStack()
    dir = join(stack.home, 'inputs')
    await mkdir(dir)
    shirt = await makeImage(320, 240, 'png', 11)
    logo = await makeImage(200, 200, 'jpeg', 12)
    photo = await makeImage(320, 240, 'webp', 13)
    await writeFile(path('shirt.png'), shirt)
    await writeFile(path('logo.jpg'), logo)
    await writeFile(path('photo.webp'), photo)
    await writeFile(path('mask.png'), await makeMask(320, 240))
    await writeFile(path('mask.jpg'), await makeMask(320, 240, 'jpeg'))
  })
  afterAll(async () => stack.close())

  it('a 2-image nano-banana edit reaches the sandbox as an array of 2 data URIs, in order, paid once at nano-banana\'s price', async () => {
    const before = stack.sandbox.usdc.transfers.length
    const prompt = 'put the logo from the second image on the shirt in the first'
    const response = await edit({ model: 'nano-banana', prompt, image: [path('shirt.png'), `data:image/jpeg;base64,${logo.toString('base64')}`] })
    expect(response.status, JSON.stringify(response.body)).toBe(200)
    expect(response.body.model).toBe('google/nano-banana')
    expect(response.body.notes).toBeUndefined()

    const received = lastPaidEdit(stack)
    expect(received.model).toBe('google/nano-banana')
    expect(received.imageForm).toBe('array')
    expect(received.images.map((image) => image.mime)).toEqual(['image/png', 'image/jpeg'])
    expect(received.images.map((image) => image.pixels)).toEqual([await pixelsOf(shirt), await pixelsOf(logo)])
    expect(received.mask).toBeUndefined()

    expect(untagged(await readFile(response.body.data[0].path)).equals(await expectedEdit(prompt, [shirt, logo], false))).toBe(true)
    expect(stack.sandbox.usdc.transfers.length).toBe(before + 1)
    expect(stack.sandbox.usdc.transfers.at(-1)!.amount).toBe(priceOf('google/nano-banana'))
  })

  it('multipart /v1/images/edits: repeated image parts are several images, in the order sent', async () => {
    const form = new FormData()
    form.append('prompt', 'one scene from three photos')
    form.append('model', 'google/nano-banana')
    for (const [bytes, name] of [[photo, 'photo.webp'], [shirt, 'shirt.png'], [logo, 'logo.jpg']] as const) form.append('image', new Blob([new Uint8Array(bytes)]), name)
    const response = await readJsonResponse(await fetch(`${stack.proxy.url}/v1/images/edits`, { method: 'POST', body: form }))
    expect(response.status, JSON.stringify(response.body)).toBe(200)
    const received = lastPaidEdit(stack)
    expect(received.imageForm).toBe('array')
    expect(received.images.map((image) => image.pixels)).toEqual([await pixelsOf(photo), await pixelsOf(shirt), await pixelsOf(logo)])
  })

  it('refused before paying, with the model named: a mask with 2 images, 4 images on a Google model, a mask on nano-banana, 5 images', async () => {
    const before = await snapshot(stack)
    const withMask = await expectRefusedUnsigned(stack, await edit({ image: [path('shirt.png'), path('logo.jpg')], mask: path('mask.png') }), before, 'mask', 'mask_with_several_images')
    expect(withMask).toContain('cannot be combined with 2 images')

    const four = [path('shirt.png'), path('logo.jpg'), path('photo.webp'), path('shirt.png')]
    const google = await expectRefusedUnsigned(stack, await edit({ model: 'nano-banana', image: four }), before, 'image', 'too_many_images')
    expect(google).toBe('google/nano-banana takes at most 3 reference images per edit; this request has 4. Models that take 4: openai/gpt-image-1, openai/gpt-image-2.')
    await expectRefusedUnsigned(stack, await edit({ model: 'google/nano-banana-pro', image: four }), before, 'image', 'too_many_images')

    const masked = await expectRefusedUnsigned(stack, await edit({ model: 'nano-banana', image: path('shirt.png'), mask: path('mask.png') }), before, 'mask', 'mask_not_supported')
    expect(masked).toContain('google/nano-banana does not take a mask')
    expect(masked).toContain('openai/gpt-image-1, openai/gpt-image-2')

    const five = await edit({ model: 'gpt-image-2', image: [...four, path('shirt.png')] })
    await expectRefusedUnsigned(stack, five, before, 'image', 'invalid_image')
    expect(five.body.error.message).toContain('more than 4 images')
    // The same limits hold for uploads.
    const form = new FormData()
    form.append('prompt', 'x')
    form.append('model', 'nano-banana')
    for (let i = 0; i < 4; i++) form.append('image[]', new Blob([new Uint8Array(shirt)]), `shirt-${i}.png`)
    const multipart = await readJsonResponse(await fetch(`${stack.proxy.url}/v1/images/edits`, { method: 'POST', body: form }))
    await expectRefusedUnsigned(stack, multipart, before, 'image', 'too_many_images')
  })

  it('a white-means-edit mask arrives as a PNG whose white area is transparent and black area opaque (also from a JPEG)', async () => {
    for (const mask of ['mask.png', 'mask.jpg']) {
      const response = await edit({ model: 'gpt-image', image: path('shirt.png'), mask: path(mask) })
      expect(response.status, JSON.stringify(response.body)).toBe(200)
      const received = lastPaidEdit(stack)
      expect(received.imageForm).toBe('string')
      expect(received.mask!.mime).toBe('image/png')
      const { at, alpha, width, height } = await alphaOf(received.mask!.bytes)
      expect([width, height]).toEqual([320, 240])
      // makeMask: black, with a white rectangle over the middle half.
      expect(at(160, 120), 'white centre').toBe(0)
      expect(at(100, 80), 'white, near its corner').toBe(0)
      expect(at(5, 5), 'black corner').toBe(255)
      expect(at(315, 235), 'black corner').toBe(255)
      expect(new Set(alpha)).toEqual(new Set([0, 255]))
    }
  })

  it('a mask with transparency is already in the gateway\'s convention: its alpha is sent as it was', async () => {
    // Opaque white everywhere except a transparent hole: read by brightness, all of it would be edited.
    const rgba = Buffer.alloc(320 * 240 * 4, 255)
    for (let y = 30; y < 90; y++) for (let x = 40; x < 120; x++) rgba[(y * 320 + x) * 4 + 3] = 0
    const hole = await sharp(rgba, { raw: { width: 320, height: 240, channels: 4 } }).png().toBuffer()
    const given = await alphaOf(hole)
    expect([given.at(60, 50), given.at(200, 200)]).toEqual([0, 255])
    const response = await edit({ model: 'gpt-image-2', image: path('shirt.png'), mask: `data:image/png;base64,${hole.toString('base64')}` })
    expect(response.status, JSON.stringify(response.body)).toBe(200)
    const sent = await alphaOf(lastPaidEdit(stack).mask!.bytes)
    expect(sent.alpha.equals(given.alpha)).toBe(true)
    expect(stack.sandbox.usdc.transfers.at(-1)!.amount).toBe(priceOf('openai/gpt-image-2'))
  })

  it('a mask that marks nothing to edit is refused before paying', async () => {
    await writeFile(path('black.png'), await sharp({ create: { width: 320, height: 240, channels: 3, background: '#000' } }).png().toBuffer())
    const before = await snapshot(stack)
    const message = await expectRefusedUnsigned(stack, await edit({ image: path('shirt.png'), mask: path('black.png') }), before, 'mask', 'mask_empty')
    expect(message).toContain('marks nothing to edit')
  })

  it('a 6 MB photo is downscaled under the cap, keeping its shape, edited, and the answer says so', async () => {
    const big = await makeNoiseJpeg(3200, 2400)
    expect(big.length).toBeGreaterThan(6_000_000)
    await writeFile(path('big.jpg'), big)
    const before = stack.sandbox.usdc.transfers.length
    const response = await edit({ image: path('big.jpg'), prompt: 'make it brighter' })
    expect(response.status, JSON.stringify(response.body)).toBe(200)
    const [sent] = lastPaidEdit(stack).images
    expect(sent!.mime).toBe('image/jpeg')
    expect(sent!.bytes.length).toBeLessThanOrEqual(GATEWAY_MAX_IMAGE_BYTES)
    expect(sent!.width).toBeLessThan(3200)
    expect(Math.abs(sent!.width / sent!.height - 4 / 3)).toBeLessThan(0.002)
    expect(response.body.notes).toHaveLength(1)
    const note: string = response.body.notes[0]
    expect(note).toContain(`image (${JSON.stringify(path('big.jpg'))}) is 3200x2400, ${(big.length / 1e6).toFixed(1)} MB`)
    expect(note).toContain(`downscaled to ${sent!.width}x${sent!.height}, ${(sent!.bytes.length / 1e6).toFixed(1)} MB`)
    expect(note).toContain("under the gateway's 4 MB limit")
    expect(stack.sandbox.usdc.transfers.length).toBe(before + 1)
  })
})
