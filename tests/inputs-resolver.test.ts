import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ImagegenError } from '../server/errors.js'
import { createInputResolver } from '../server/inputs/index.js'
import { pixelDigest } from '../server/sandbox/edit-inputs.js'
import { ImageStore } from '../server/store/images.js'
import { hang, serveBytes, startFileServer, type FileServer } from './helpers/file-server.js'
import { makeImage, makeMask } from './helpers/images.js'

describe('input resolver', () => {
  let dir: string
  let files: FileServer
  let png: Buffer
  const resolver = () => createInputResolver({ settings: { maxInputBytes: 1024 * 1024, allowPrivateUrls: true }, store: () => new ImageStore(dir) })

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'imagegen-inputs-'))
    png = await makeImage(100, 80)
    await writeFile(join(dir, 'photo.png'), png)
    await writeFile(join(dir, 'mask.webp'), await makeMask(100, 80, 'webp'))
    files = await startFileServer({ '/slow.png': hang(), '/photo.png': serveBytes(png) })
  })
  afterAll(async () => {
    await files.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('hands back data URIs typed by their bytes, pixels unchanged; a WebP mask becomes a PNG with alpha of the same size', async () => {
    const resolved = await resolver().resolve({ images: [`${files.url}/photo.png`], mask: join(dir, 'mask.webp') })
    const [image, mask] = [resolved.images[0]!.toDataUri(), resolved.mask?.toDataUri()]
    expect(image.startsWith('data:image/png;base64,')).toBe(true)
    expect((await pixelDigest(Buffer.from(image.split(',')[1]!, 'base64'))).pixels).toBe((await pixelDigest(png)).pixels)
    expect(mask!.startsWith('data:image/png;base64,')).toBe(true)
    const decoded = await sharp(Buffer.from(mask!.split(',')[1]!, 'base64')).metadata()
    expect([decoded.format, decoded.width, decoded.height, decoded.hasAlpha]).toEqual(['png', 100, 80, true])
    expect(resolved.notes).toEqual([])
  })

  it('a refused mask stops a slow image download at once and is the error reported', async () => {
    const started = Date.now()
    const error = await resolver()
      .resolve({ images: [`${files.url}/slow.png`], mask: join(dir, 'missing.png') })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ImagegenError)
    expect((error as ImagegenError).param).toBe('mask')
    expect(Date.now() - started).toBeLessThan(5000)
  })

  it("when both are refused, the image's refusal is reported", async () => {
    const error = await resolver()
      .resolve({ images: [join(dir, 'nope.png')], mask: join(dir, 'missing.png') })
      .catch((e: unknown) => e)
    expect((error as ImagegenError).param).toBe('image')
  })

  it('the caller cancelling ends a download as a cancellation, not a refusal', async () => {
    const controller = new AbortController()
    setTimeout(() => controller.abort(new DOMException('cancelled', 'AbortError')), 100)
    const error = await resolver()
      .resolve({ images: [`${files.url}/slow.png`], signal: controller.signal })
      .catch((e: unknown) => e)
    expect((error as Error).name).toBe('AbortError')
  })
})
