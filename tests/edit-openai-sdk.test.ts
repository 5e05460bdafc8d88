/**
 * The official openai SDK's images.edit against the proxy, as an OpenAI-SDK user would point it:
 * baseURL http://127.0.0.1:<port>/v1, any API key (the wallet pays, not the key).
 */
import { createReadStream } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import OpenAI, { toFile } from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EDIT_PRICE, editPriceAt, expectedEdit, untagged } from './helpers/edits.js'
import { makeImage, makeMask } from './helpers/images.js'
import { startStack, type Stack } from './helpers/stack.js'

describe('openai SDK images.edit', () => {
  let stack: Stack
  let client: OpenAI
  let png: Buffer
  let maskPath: string

  beforeAll(async () => {
    stack = await startStack()
    client = new OpenAI({ apiKey: 'not-used-by-the-proxy', baseURL: `${stack.proxy.url}/v1`, maxRetries: 0 })
    png = await makeImage(400, 300, 'png', 5)
    maskPath = join(stack.home, 'mask.png')
    await writeFile(maskPath, await makeMask(400, 300))
  })
  afterAll(async () => stack.close())

  it('edits with a file and a mask, paying once, and answers in OpenAI shape', async () => {
    const result = await client.images.edit({
      model: 'gpt-image-1',
      image: await toFile(png, 'photo.png', { type: 'image/png' }),
      mask: createReadStream(maskPath),
      prompt: 'put a hat on it',
      size: '1024x1024',
    })
    expect(result.created).toBeGreaterThan(0)
    expect(result.data).toHaveLength(1)
    const url = result.data![0]!.url!
    expect(url).toMatch(new RegExp(`^${stack.proxy.url}/images/[0-9]{13}-[0-9a-f]{16}\\.png$`))
    const served = Buffer.from(await (await fetch(url)).arrayBuffer())
    expect(untagged(served).equals(await expectedEdit('put a hat on it', png, true))).toBe(true)
    expect(stack.sandbox.usdc.transfers).toHaveLength(1)
    expect(stack.sandbox.usdc.transfers[0]!.amount).toBe(EDIT_PRICE)
  })

  it('returns b64_json when asked, and n images in one payment', async () => {
    const before = stack.sandbox.usdc.transfers.length
    const result = await client.images.edit({
      image: await toFile(png, 'photo.png'),
      prompt: 'two versions',
      n: 2,
      response_format: 'b64_json',
    })
    expect(result.data).toHaveLength(2)
    for (const [index, item] of result.data!.entries()) expect(untagged(Buffer.from(item.b64_json!, 'base64')).equals(await expectedEdit('two versions', png, false, '1024x1024', index))).toBe(true)
    expect(stack.sandbox.usdc.transfers.length).toBe(before + 1)
    expect(stack.sandbox.usdc.transfers.at(-1)!.amount).toBe(editPriceAt('1024x1024', 2))
  })

  it('fuses 4 images on gpt-image-2: the SDK sends them as image[] parts, the sandbox receives an array of 4', async () => {
    const inputs = await Promise.all([1, 2, 3, 4].map((seed) => makeImage(256, 192, seed % 2 ? 'png' : 'jpeg', 20 + seed)))
    // The SDK's own fetch, wrapped to see the form it builds.
    const sent: FormData[] = []
    const watched = new OpenAI({
      apiKey: 'not-used-by-the-proxy',
      baseURL: `${stack.proxy.url}/v1`,
      maxRetries: 0,
      fetch: async (url, init) => {
        if (init?.body instanceof FormData) sent.push(init.body)
        return fetch(url, init)
      },
    })
    const before = stack.sandbox.usdc.transfers.length
    const prompt = 'one poster from these four photos'
    const result = await watched.images.edit({
      model: 'gpt-image-2',
      image: await Promise.all(inputs.map((bytes, i) => toFile(bytes, `photo-${i}.${i % 2 ? 'jpg' : 'png'}`))),
      prompt,
    })
    expect(sent).toHaveLength(1)
    expect(sent[0]!.getAll('image[]')).toHaveLength(4)
    expect(sent[0]!.getAll('image')).toHaveLength(0)

    const received = stack.sandbox.edits.received.filter((edit) => edit.paid).at(-1)!
    expect(received.model).toBe('openai/gpt-image-2')
    expect(received.imageForm).toBe('array')
    expect(received.images.map((image) => image.mime)).toEqual(['image/png', 'image/jpeg', 'image/png', 'image/jpeg'])
    const served = Buffer.from(await (await fetch(result.data![0]!.url!)).arrayBuffer())
    expect(untagged(served).equals(await expectedEdit(prompt, inputs, false))).toBe(true)
    expect(stack.sandbox.usdc.transfers.length).toBe(before + 1)
    expect(stack.sandbox.usdc.transfers.at(-1)!.amount).toBe(64_000n) // gpt-image-2: $0.06 × 1.05 + $0.001
  })

  it('surfaces refusals as the SDK error classes, with nothing paid', async () => {
    const imageRequests = stack.sandbox.counters.imageRequests
    const transfers = stack.sandbox.usdc.transfers.length
    const wrongMask = await client.images
      .edit({ image: await toFile(png, 'photo.png'), mask: await toFile(await makeMask(64, 64), 'mask.png'), prompt: 'x' })
      .catch((error: unknown) => error)
    expect(wrongMask).toBeInstanceOf(OpenAI.BadRequestError)
    expect((wrongMask as InstanceType<typeof OpenAI.BadRequestError>).status).toBe(400)
    expect((wrongMask as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('mask')
    expect((wrongMask as Error).message).toContain('the mask is 64x64 but the image is 400x300')

    const notImage = await client.images.edit({ image: await toFile(await readFile(join(stack.home, 'wallet.key')), 'key.png'), prompt: 'x' }).catch((e: unknown) => e)
    expect(notImage).toBeInstanceOf(OpenAI.BadRequestError)
    expect((notImage as Error).message).toContain('the uploaded file "key.png" is not a PNG, JPEG or WebP image')

    const flux = await client.images.edit({ model: 'flux', image: await toFile(png, 'photo.png'), prompt: 'x' }).catch((e: unknown) => e)
    expect(flux).toBeInstanceOf(OpenAI.BadRequestError)
    expect((flux as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('model')
    expect((flux as Error).message).toContain('"flux" now means xai/grok-imagine-image, which cannot edit images')
    expect(stack.sandbox.counters.imageRequests).toBe(imageRequests)
    expect(stack.sandbox.usdc.transfers.length).toBe(transfers)
  })
})
