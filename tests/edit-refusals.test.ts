/**
 * Every refused edit is a 400 in OpenAI's error shape that names the problem, and nothing reaches
 * the upstream or the payment rail: zero image requests at the sandbox, zero USDC transfers.
 */
import { execFileSync } from 'node:child_process'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { redirectTo, serveBytes, startFileServer, type FileServer } from './helpers/file-server.js'
import { expectRefusedBeforeUpstream } from './helpers/edits.js'
import { makeHugeCanvasPng, makeImage, makeMask, makeNoisePng } from './helpers/images.js'
import { readJsonResponse, startStack, type JsonResponse, type Stack } from './helpers/stack.js'

const NOTHING = { imageRequests: 0, transfers: 0 }

describe('refused edits (private URLs not allowed, 1 MB input cap)', () => {
  let stack: Stack
  let dir: string
  let files: FileServer
  let png: Buffer

  beforeAll(async () => {
    stack = await startStack({ settings: { maxInputMb: 1 } })
    dir = join(stack.home, 'inputs')
    await mkdir(dir)
    png = await makeImage(256, 256)
    await writeFile(join(dir, 'photo.png'), png)
    await writeFile(join(dir, 'notes.png'), 'shopping list: eggs, milk\n')
    await writeFile(join(dir, 'half.png'), png.subarray(0, Math.floor(png.length / 2)))
    await writeFile(join(dir, 'anim.gif'), Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00;', 'latin1'))
    await writeFile(join(dir, 'mask-small.png'), await makeMask(128, 128))
    const big = await makeNoisePng(700, 700)
    expect(big.length).toBeGreaterThan(1024 * 1024)
    await writeFile(join(dir, 'big.png'), big)
    execFileSync('mkfifo', [join(dir, 'pipe.png')])
    files = await startFileServer({ '/photo.png': serveBytes(png), '/moved': redirectTo('/photo.png') })
  })
  afterAll(async () => {
    await files.close()
    await stack.close()
  })

  const edit = (fields: Record<string, unknown>) => stack.post('/v1/images/image2image', { prompt: 'change it', ...fields })
  const refused = (response: JsonResponse, param = 'image') => {
    expectRefusedBeforeUpstream(stack, response, param, NOTHING)
    return response.body.error as { message: string; code: string }
  }

  it('a local file that is text, not an image', async () => {
    const path = join(dir, 'notes.png')
    const error = refused(await edit({ image: path }))
    expect(error.message).toBe(`image: ${JSON.stringify(path)} is not a PNG, JPEG or WebP image (it is text).`)
    expect(error.code).toBe('input_not_image')
  })

  it('the wallet key file, without its contents in the message', async () => {
    const keyPath = join(stack.home, 'wallet.key')
    const key = (await readFile(keyPath, 'utf8')).trim()
    const response = await edit({ image: keyPath })
    const error = refused(response)
    expect(error.code).toBe('input_not_image')
    expect(JSON.stringify(response.body)).not.toContain(key.slice(2, 20))
  })

  it('a directory, a FIFO, a device, a missing file, a relative path', async () => {
    expect(refused(await edit({ image: dir })).code).toBe('input_not_file')
    expect(refused(await edit({ image: join(dir, 'pipe.png') })).message).toContain('not a regular file')
    expect(refused(await edit({ image: '/dev/zero' })).message).toContain('"/dev/zero" is not a regular file')
    const missing = refused(await edit({ image: join(dir, 'nope.png') }))
    expect(missing).toMatchObject({ code: 'input_not_found', message: `image: cannot read ${JSON.stringify(join(dir, 'nope.png'))}: no such file.` })
    expect(refused(await edit({ image: 'photo.png' })).code).toBe('input_relative_path')
  })

  it('a GIF and a truncated PNG', async () => {
    expect(refused(await edit({ image: join(dir, 'anim.gif') })).message).toContain('it is a GIF')
    expect(refused(await edit({ image: join(dir, 'half.png') })).code).toBe('input_undecodable')
  })

  it('a small file declaring a huge canvas (decompression bomb), refused from its header', async () => {
    const bomb = makeHugeCanvasPng(20_000, 20_000)
    expect(bomb.length).toBeLessThan(64 * 1024)
    const started = Date.now()
    const error = refused(await edit({ image: `data:image/png;base64,${bomb.toString('base64')}` }))
    expect(error).toMatchObject({ code: 'input_too_many_pixels', message: 'image: the data URI is 20000x20000 pixels; edit inputs may have at most 100 megapixels.' })
    expect(Date.now() - started).toBeLessThan(2000)
  })

  it('an oversized file and an oversized data URI', async () => {
    const big = refused(await edit({ image: join(dir, 'big.png') }))
    expect(big.code).toBe('input_too_large')
    expect(big.message).toContain(join(dir, 'big.png'))
    expect(big.message).toContain('at most 1 MB')
    const data = `data:image/png;base64,${(await readFile(join(dir, 'big.png'))).toString('base64')}`
    expect(refused(await edit({ image: data })).code).toBe('input_too_large')
  })

  it('a private-address URL, before any connection (the test server sees nothing)', async () => {
    const error = refused(await edit({ image: `${files.url}/photo.png` }))
    expect(error.code).toBe('url_address_refused')
    expect(error.message).toContain(`${files.url}/photo.png`)
    const byName = refused(await edit({ image: `${files.url.replace('127.0.0.1', 'localhost')}/moved` }))
    expect(byName.code).toBe('url_address_refused')
    expect(files.requests).toEqual([])
  })

  it("a loopback URL on another port is not the proxy's own URL", async () => {
    const lookalike = `http://127.0.0.1:${stack.sandbox.port}/images/1700000000000-0123456789abcdef.png`
    expect(refused(await edit({ image: lookalike })).code).toBe('url_address_refused')
  })

  it('other URL schemes', async () => {
    expect(refused(await edit({ image: 'ftp://example.com/photo.png' })).code).toBe('url_scheme_refused')
  })

  it('a mask of the wrong size, or that is not an image', async () => {
    const error = refused(await edit({ image: join(dir, 'photo.png'), mask: join(dir, 'mask-small.png') }), 'mask')
    expect(error).toMatchObject({ code: 'mask_size_mismatch', message: 'mask: the mask is 128x128 but the image is 256x256; they must be the same size.' })
    expect(refused(await edit({ image: join(dir, 'photo.png'), mask: join(dir, 'notes.png') }), 'mask').code).toBe('input_not_image')
  })

  it('an edit with a model that cannot edit', async () => {
    const error = refused(await edit({ model: 'flux', image: join(dir, 'photo.png') }), 'model')
    expect(error.code).toBe('model_cannot_edit')
    expect(error.message).toContain('openai/gpt-image-1')
  })

  it('multipart: a non-image upload, a wrong-size mask, no image, a streaming request', async () => {
    const post = async (fields: Record<string, string | Blob>) => {
      const form = new FormData()
      for (const [name, value] of Object.entries(fields)) form.append(name, value)
      return readJsonResponse(await fetch(`${stack.proxy.url}/v1/images/edits`, { method: 'POST', body: form }))
    }
    const form = new FormData()
    form.append('prompt', 'x')
    form.append('image', new Blob(['just text']), 'notes.png')
    const text = refused(await readJsonResponse(await fetch(`${stack.proxy.url}/v1/images/edits`, { method: 'POST', body: form })))
    expect(text.message).toBe('image: the uploaded file "notes.png" is not a PNG, JPEG or WebP image (it is text).')
    const mask = await post({ prompt: 'x', image: new Blob([new Uint8Array(png)]), mask: new Blob([new Uint8Array(await makeMask(64, 64))]) })
    expect(refused(mask, 'mask').code).toBe('mask_size_mismatch')
    expect(refused(await post({ prompt: 'x' })).message).toContain('image')
    expect(refused(await post({ prompt: 'x', image: new Blob([new Uint8Array(png)]), stream: 'true' }), 'stream').code).toBe('unsupported_stream')
    const json = await readJsonResponse(await fetch(`${stack.proxy.url}/v1/images/edits`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }))
    expect(json.status).toBe(400)
    expect(json.body.error.code).toBe('invalid_content_type')
  })
})

describe('redirects are re-checked even when private URLs are allowed', () => {
  let stack: Stack
  let files: FileServer
  beforeAll(async () => {
    stack = await startStack({ settings: { allowPrivateUrls: true } })
    files = await startFileServer({
      '/to-metadata': redirectTo('http://169.254.169.254/latest/meta-data/'),
      '/to-unspecified': redirectTo('http://0.0.0.0:1/photo.png'),
      '/to-link-local-v6': redirectTo('http://[fe80::1]/photo.png'),
    })
  })
  afterAll(async () => {
    await files.close()
    await stack.close()
  })

  for (const [path, kind] of [
    ['/to-metadata', 'cloud metadata'],
    ['/to-unspecified', 'reserved'],
    ['/to-link-local-v6', 'link-local'],
  ] as const) {
    it(`a URL that redirects to ${kind} is refused at the redirect`, async () => {
      const response = await stack.post('/v1/images/image2image', { prompt: 'x', image: `${files.url}${path}` })
      expectRefusedBeforeUpstream(stack, response, 'image', NOTHING)
      expect(response.body.error.code).toBe('url_address_refused')
      expect(response.body.error.message).toContain(kind)
      expect(files.requests).toContain(path)
    })
  }
})
