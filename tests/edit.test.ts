import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { redirectTo, serveBytes, startFileServer, type FileServer } from './helpers/file-server.js'
import { expectEditResult } from './helpers/edits.js'
import { makeImage, makeMask } from './helpers/images.js'
import { readJsonResponse, startStack, type Stack } from './helpers/stack.js'

describe('edit inputs end to end through the sandbox (image2image)', () => {
  let stack: Stack
  let dir: string
  let png: Buffer
  let jpeg: Buffer
  let webp: Buffer
  let files: FileServer

  beforeAll(async () => {
    // URL inputs come from a loopback test server, so this stack allows private addresses.
    stack = await startStack({ settings: { allowPrivateUrls: true } })
    dir = join(stack.home, 'inputs')
    await mkdir(dir)
    png = await makeImage(512, 512, 'png', 1)
    jpeg = await makeImage(640, 480, 'jpeg', 2)
    webp = await makeImage(300, 200, 'webp', 3)
    await writeFile(join(dir, 'photo.png'), png)
    // The name says text; the bytes say PNG. Bytes decide.
    await writeFile(join(dir, 'photo.txt'), png)
    await writeFile(join(dir, 'photo one.jpg'), jpeg)
    await symlink(join(dir, 'photo.png'), join(dir, 'link.png'))
    files = await startFileServer({
      '/photo.jpg': serveBytes(jpeg, 'application/octet-stream'),
      '/mask.png': serveBytes(await makeMask(640, 480)),
      '/moved': redirectTo('/photo.jpg', 301),
    })
  })
  afterAll(async () => {
    await files.close()
    await stack.close()
  })

  const edit = async (fields: Record<string, unknown>) => stack.post('/v1/images/image2image', { model: 'gpt-image', ...fields })

  it('an absolute local path', async () => {
    const before = stack.sandbox.usdc.transfers.length
    const response = await edit({ prompt: 'local path', image: join(dir, 'photo.png') })
    await expectEditResult(stack, response, 'local path', png, { transfersBefore: before })
  })

  it('a file whose name lies about its type, a symlink, and a path with spaces as a file:// URL', async () => {
    let before = stack.sandbox.usdc.transfers.length
    await expectEditResult(stack, await edit({ prompt: 'misnamed', image: join(dir, 'photo.txt') }), 'misnamed', png, { transfersBefore: before })
    before = stack.sandbox.usdc.transfers.length
    await expectEditResult(stack, await edit({ prompt: 'symlink', image: join(dir, 'link.png') }), 'symlink', png, { transfersBefore: before })
    before = stack.sandbox.usdc.transfers.length
    const fileUrl = pathToFileURL(join(dir, 'photo one.jpg')).href
    expect(fileUrl).toContain('%20')
    await expectEditResult(stack, await edit({ prompt: 'file url', image: fileUrl }), 'file url', jpeg, { transfersBefore: before })
  })

  it('a ~/ path', async () => {
    const home = process.env.HOME
    process.env.HOME = stack.home
    try {
      const before = stack.sandbox.usdc.transfers.length
      await expectEditResult(stack, await edit({ prompt: 'home path', image: '~/inputs/photo.png' }), 'home path', png, { transfersBefore: before })
    } finally {
      process.env.HOME = home
    }
  })

  it('a data URI (its declared type ignored: the bytes are WebP) and raw base64 (a JPEG, whose base64 starts with "/9j/")', async () => {
    let before = stack.sandbox.usdc.transfers.length
    await expectEditResult(stack, await edit({ prompt: 'data uri', image: `data:image/png;base64,${webp.toString('base64')}` }), 'data uri', webp, { transfersBefore: before })
    before = stack.sandbox.usdc.transfers.length
    const raw = jpeg.toString('base64')
    expect(raw.startsWith('/9j/')).toBe(true)
    await expectEditResult(stack, await edit({ prompt: 'raw base64', image: raw }), 'raw base64', jpeg, { transfersBefore: before })
  })

  it('an http URL (also through a redirect), and a mask by URL', async () => {
    let before = stack.sandbox.usdc.transfers.length
    await expectEditResult(stack, await edit({ prompt: 'by url', image: `${files.url}/photo.jpg` }), 'by url', jpeg, { transfersBefore: before })
    before = stack.sandbox.usdc.transfers.length
    await expectEditResult(stack, await edit({ prompt: 'moved', image: `${files.url}/moved`, mask: `${files.url}/mask.png` }), 'moved', jpeg, { masked: true, transfersBefore: before })
    expect(files.requests).toEqual(expect.arrayContaining(['/photo.jpg', '/moved', '/mask.png']))
  })

  it('a JPEG mask is converted to PNG for the upstream; WebP images go as they are', async () => {
    const image = await makeImage(300, 200, 'webp', 9)
    const maskPath = join(dir, 'mask.jpg')
    await writeFile(maskPath, await makeMask(300, 200, 'jpeg'))
    const before = stack.sandbox.usdc.transfers.length
    const response = await edit({ prompt: 'jpeg mask', image: `data:image/webp;base64,${image.toString('base64')}`, mask: maskPath, size: '1536x1024' })
    await expectEditResult(stack, response, 'jpeg mask', image, { masked: true, size: '1536x1024', transfersBefore: before })
    const meta = await sharp(response.body.data[0].path).metadata()
    expect(`${meta.width}x${meta.height}`).toBe('1536x1024')
  })

  it('multipart /v1/images/edits with files, and with a text reference in place of a file', async () => {
    let before = stack.sandbox.usdc.transfers.length
    const form = new FormData()
    form.append('prompt', 'multipart')
    form.append('model', 'openai/gpt-image-1')
    form.append('image', new Blob([new Uint8Array(png)]), 'photo.png')
    form.append('mask', new Blob([new Uint8Array(await makeMask(512, 512))]), 'mask.png')
    form.append('n', '1')
    form.append('quality', 'high')
    const response = await readJsonResponse(await fetch(`${stack.proxy.url}/v1/images/edits`, { method: 'POST', body: form }))
    await expectEditResult(stack, response, 'multipart', png, { masked: true, transfersBefore: before })

    before = stack.sandbox.usdc.transfers.length
    const byPath = new FormData()
    byPath.append('prompt', 'multipart path')
    byPath.append('image', join(dir, 'photo.png'))
    byPath.append('response_format', 'b64_json')
    const second = await readJsonResponse(await fetch(`${stack.proxy.url}/v1/images/edits`, { method: 'POST', body: byPath }))
    await expectEditResult(stack, second, 'multipart path', png, { transfersBefore: before })
    expect(Buffer.from(second.body.data[0].b64_json, 'base64').equals(await readFile(second.body.data[0].path))).toBe(true)
  })
})

describe("the proxy's own /images URLs", () => {
  let stack: Stack
  beforeAll(async () => {
    // No allowPrivateUrls: own URLs are read from the store, never fetched.
    stack = await startStack()
  })
  afterAll(async () => stack.close())

  it('edits an image the proxy just made, by 127.0.0.1 and by localhost URL, without network access', async () => {
    const made = await stack.post('/v1/images/generations', { model: 'gpt-image', prompt: 'a red bicycle' })
    expect(made.status, JSON.stringify(made.body)).toBe(200)
    const generated = await readFile(made.body.data[0].path)
    const url: string = made.body.data[0].url
    expect(url.startsWith(`${stack.proxy.url}/images/`)).toBe(true)
    // This stack refuses loopback downloads, so success means the bytes came from the store.
    let before = stack.sandbox.usdc.transfers.length
    await expectEditResult(stack, await stack.post('/v1/images/image2image', { prompt: 'make it blue', image: url }), 'make it blue', generated, { transfersBefore: before })
    before = stack.sandbox.usdc.transfers.length
    const localhost = url.replace('127.0.0.1', 'localhost')
    await expectEditResult(stack, await stack.post('/v1/images/image2image', { prompt: 'make it green', image: localhost }), 'make it green', generated, { transfersBefore: before })
  })

  it('an own URL that names no stored image is a 400 naming the URL, with nothing sent upstream', async () => {
    const imageRequests = stack.sandbox.counters.imageRequests
    const url = `${stack.proxy.url}/images/1700000000000-0123456789abcdef.png`
    const response = await stack.post('/v1/images/image2image', { prompt: 'x', image: url })
    expect(response.status).toBe(400)
    expect(response.body.error.message).toContain(url)
    expect(response.body.error.code).toBe('image_not_found')
    expect(stack.sandbox.counters.imageRequests).toBe(imageRequests)
  })
})
