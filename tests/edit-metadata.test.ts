/**
 * Only pixels leave the machine (docs/SECURITY.md, issue #16 item 8): an edit input's text chunks,
 * EXIF, XMP, comments and whatever follows the image's end never reach the upstream; its pixels
 * and its colour profile do, unchanged. Checked on what the sandbox received.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { crc32 } from 'node:zlib'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { pixelDigest } from '../server/sandbox/edit-inputs.js'
import { cleanImage } from '../server/inputs/clean.js'
import { checkImage } from '../server/inputs/image-check.js'
import { stripJpeg } from '../server/inputs/strip-jpeg.js'
import { stripWebp } from '../server/inputs/strip-webp.js'
import { lastPaidEdit } from './helpers/edits.js'
import { makeMask } from './helpers/images.js'
import { startStack, type Stack } from './helpers/stack.js'

/** Stands for anything that must not travel: a key pasted into a comment, a GPS position. */
const SECRET = '0x5ecre7c0ffee5ecre7c0ffee5ecre7c0ffee5ecre7c0ffee5ecre7c0ffee5ecre7'

const picture = () =>
  sharp({ create: { width: 300, height: 200, channels: 3, background: '#3366aa' } }).composite([
    { input: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="300" height="200"><circle cx="150" cy="100" r="60" fill="orange"/></svg>') },
  ])

/** `png` with a chunk inserted before IEND. */
function withPngChunk(png: Buffer, type: string, data: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data])
  const length = Buffer.alloc(4)
  length.writeUInt32BE(data.length)
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(body))
  const iend = png.length - 12
  return Buffer.concat([png.subarray(0, iend), length, body, crc, png.subarray(iend)])
}

/** `jpeg` with a COM segment right after SOI. */
function withJpegComment(jpeg: Buffer, text: string): Buffer {
  const length = Buffer.alloc(2)
  length.writeUInt16BE(text.length + 2)
  return Buffer.concat([jpeg.subarray(0, 2), Buffer.from([0xff, 0xfe]), length, Buffer.from(text, 'latin1'), jpeg.subarray(2)])
}

const exif = { IFD0: { Copyright: SECRET, ImageDescription: SECRET, Artist: SECRET } }
const tail = Buffer.from(`\n-----BEGIN KEY-----\n${SECRET}\n`)

describe('edit inputs go upstream as pixels and colour profile only', () => {
  let stack: Stack
  let dir: string
  let inputs: Record<'png' | 'jpeg' | 'webp', Buffer>

  beforeAll(async () => {
    stack = await startStack()
    dir = join(stack.home, 'inputs')
    await mkdir(dir)
    const png = withPngChunk(await picture().withIccProfile('p3').withExif(exif).png().toBuffer(), 'tEXt', Buffer.from(`Comment\0${SECRET}`, 'latin1'))
    const jpeg = withJpegComment(await picture().withIccProfile('p3').withExif(exif).jpeg({ quality: 90 }).toBuffer(), SECRET)
    const webp = await picture().withIccProfile('p3').withExif(exif).webp({ quality: 90 }).toBuffer()
    inputs = { png: Buffer.concat([png, tail]), jpeg: Buffer.concat([jpeg, tail]), webp: Buffer.concat([webp, tail]) }
    for (const [format, bytes] of Object.entries(inputs)) {
      expect(bytes.includes(SECRET), format).toBe(true)
      await writeFile(join(dir, `photo.${format}`), bytes)
    }
  })
  afterAll(async () => stack.close())

  for (const format of ['png', 'jpeg', 'webp'] as const) {
    it(`${format}: no text chunk, EXIF, comment or trailing data reaches the upstream; the pixels and the ICC profile do`, async () => {
      const response = await stack.post('/v1/images/image2image', { prompt: 'x', image: join(dir, `photo.${format}`) })
      expect(response.status, JSON.stringify(response.body)).toBe(200)
      expect(response.body.notes, 'nothing was lost, so nothing to report').toBeUndefined()
      const [sent] = lastPaidEdit(stack).images
      expect(sent!.mime).toBe(`image/${format}`)
      expect(sent!.bytes.includes(SECRET)).toBe(false)
      expect(sent!.bytes.includes(tail)).toBe(false)
      expect(sent!.pixels).toBe((await pixelDigest(inputs[format])).pixels)
      const [before, after] = await Promise.all([sharp(inputs[format]).metadata(), sharp(sent!.bytes).metadata()])
      expect(after.exif).toBeUndefined()
      expect(after.icc).toBeDefined()
      expect(after.icc!.equals(before.icc!)).toBe(true)
    })
  }

  it('a mask carries nothing of its file either', async () => {
    const mask = withPngChunk(await makeMask(300, 200), 'tEXt', Buffer.from(`Comment\0${SECRET}`, 'latin1'))
    const response = await stack.post('/v1/images/image2image', { prompt: 'x', image: join(dir, 'photo.png'), mask: `data:image/png;base64,${Buffer.concat([mask, tail]).toString('base64')}` })
    expect(response.status, JSON.stringify(response.body)).toBe(200)
    expect(lastPaidEdit(stack).mask!.bytes.includes(SECRET)).toBe(false)
  })

  it('a JPEG whose EXIF turns it is sent turned, without the EXIF, and the answer says it was re-encoded', async () => {
    const turned = await picture().withExif(exif).withMetadata({ orientation: 6 }).jpeg().toBuffer()
    const response = await stack.post('/v1/images/image2image', { prompt: 'x', image: `data:image/jpeg;base64,${turned.toString('base64')}` })
    expect(response.status, JSON.stringify(response.body)).toBe(200)
    const [sent] = lastPaidEdit(stack).images
    expect([sent!.width, sent!.height]).toEqual([200, 300])
    expect(sent!.bytes.includes(SECRET)).toBe(false)
    expect((await sharp(sent!.bytes).metadata()).orientation).toBeUndefined()
    expect(response.body.notes).toEqual(['image (the data URI) was re-encoded as JPEG at quality 95 to apply its EXIF orientation.'])
  })
})

describe('cleanImage', () => {
  it('keeps a 16-bit PNG at 16 bits, alpha included, every sample unchanged', async () => {
    const deep = await sharp({ create: { width: 40, height: 30, channels: 4, background: { r: 10, g: 200, b: 90, alpha: 0.5 } } }).toColourspace('rgb16').png().toBuffer()
    expect((await sharp(deep).metadata()).depth).toBe('ushort')
    const clean = await cleanImage(await checkImage('image', Buffer.concat([deep, tail]), 'the test PNG'))
    const after = await sharp(clean.bytes).metadata()
    expect([after.depth, after.channels, after.hasAlpha]).toEqual(['ushort', 4, true])
    const samples = (png: Buffer) => sharp(png).raw({ depth: 'ushort' }).toBuffer()
    expect((await samples(clean.bytes)).equals(await samples(deep))).toBe(true)
    expect(clean.bytes.includes(tail)).toBe(false)
  })
})

describe('the strippers', () => {
  it('refuse what they cannot parse whole (the caller then re-encodes): a truncated JPEG, an animated WebP', async () => {
    const jpeg = await picture().jpeg().toBuffer()
    expect(stripJpeg(jpeg)).toBeDefined()
    expect(stripJpeg(jpeg.subarray(0, jpeg.length - 100))).toBeUndefined()
    const webp = await picture().webp().toBuffer()
    expect(stripWebp(webp)).toBeDefined()
    // An ANIM chunk (animation parameters: background colour, loop count) makes it an animation.
    const animated = Buffer.concat([webp.subarray(0, 12), Buffer.from('ANIM', 'latin1'), Buffer.from([6, 0, 0, 0, 0, 0, 0, 0, 0, 0]), webp.subarray(12)])
    animated.writeUInt32LE(animated.length - 8, 4)
    expect(stripWebp(animated)).toBeUndefined()
  })
})
