/**
 * Real test images made with sharp: a picture in each accepted format, and masks (white = edit,
 * black = keep) in any size and format.
 */
import { crc32, deflateSync } from 'node:zlib'
import sharp from 'sharp'

export type TestFormat = 'png' | 'jpeg' | 'webp'

/** A small colourful image; `seed` changes the colours so different inputs differ in bytes. */
export async function makeImage(width: number, height: number, format: TestFormat = 'png', seed = 0): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
  <rect width="100%" height="100%" fill="hsl(${(seed * 47) % 360},60%,50%)"/>
  <circle cx="${width / 2}" cy="${height / 2}" r="${Math.min(width, height) / 3}" fill="hsl(${(seed * 47 + 180) % 360},60%,60%)"/>
</svg>`
  return sharp(Buffer.from(svg)).toFormat(format).toBuffer()
}

/** Black with a white square in the middle: edit the middle, keep the rest. */
export async function makeMask(width: number, height: number, format: TestFormat = 'png'): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
  <rect width="100%" height="100%" fill="black"/>
  <rect x="${width / 4}" y="${height / 4}" width="${width / 2}" height="${height / 2}" fill="white"/>
</svg>`
  return sharp(Buffer.from(svg)).toFormat(format).toBuffer()
}

function noisePixels(width: number, height: number): Buffer {
  const pixels = Buffer.alloc(width * height * 3)
  for (let i = 0; i < pixels.length; i++) pixels[i] = (Math.imul(i + 1, 2654435761) >>> 13) & 0xff
  return pixels
}

/** A valid PNG of random pixels: incompressible, so its size is about width * height * 3 bytes. */
export async function makeNoisePng(width: number, height: number): Promise<Buffer> {
  return sharp(noisePixels(width, height), { raw: { width, height, channels: 3 } }).png({ compressionLevel: 0 }).toBuffer()
}

/** A JPEG of random pixels, the size of a phone photo: 3200x2400 at quality 94 is about 6.2 MB. */
export async function makeNoiseJpeg(width: number, height: number, quality = 94): Promise<Buffer> {
  return sharp(noisePixels(width, height), { raw: { width, height, channels: 3 } }).jpeg({ quality }).toBuffer()
}

/** The alpha of each pixel of a PNG, row by row (255 where it has no alpha channel). */
export async function alphaOf(png: Buffer): Promise<{ alpha: Buffer; width: number; height: number; at(x: number, y: number): number }> {
  const { data, info } = await sharp(png).ensureAlpha().raw().toBuffer({ resolveWithObject: true })
  const alpha = Buffer.alloc(info.width * info.height)
  for (let i = 0; i < alpha.length; i++) alpha[i] = data[i * info.channels + info.channels - 1]!
  return { alpha, width: info.width, height: info.height, at: (x, y) => alpha[y * info.width + x]! }
}

/**
 * A PNG that declares a `width` x `height` canvas but carries almost no data: a decompression bomb
 * in miniature. Only the header is valid, which is all a dimension check should need to read.
 */
export function makeHugeCanvasPng(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const length = Buffer.alloc(4)
    length.writeUInt32BE(data.length)
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data])
    const crc = Buffer.alloc(4)
    crc.writeUInt32BE(crc32(body))
    return Buffer.concat([length, body, crc])
  }
  const header = Buffer.alloc(13)
  header.writeUInt32BE(width, 0)
  header.writeUInt32BE(height, 4)
  header.set([8, 0, 0, 0, 0], 8) // 8-bit greyscale, no interlace
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
  return Buffer.concat([signature, chunk('IHDR', header), chunk('IDAT', deflateSync(Buffer.alloc(width + 1))), chunk('IEND', Buffer.alloc(0))])
}

/**
 * A stored PNG without the text chunks the store adds (its model and receipt id, server/store/tags.ts),
 * byte for byte what the upstream sent.
 */
export function untagged(png: Buffer): Buffer {
  const kept: Buffer[] = [png.subarray(0, 8)]
  for (let at = 8; at < png.length; ) {
    const length = png.readUInt32BE(at)
    const chunk = png.subarray(at, at + 12 + length)
    const ours = png.toString('latin1', at + 4, at + 8) === 'tEXt' && /^(Software|Source|Receipt)\0/.test(png.toString('latin1', at + 8, at + 8 + Math.min(length, 9)))
    if (!ours) kept.push(chunk)
    at += 12 + length
  }
  return Buffer.concat(kept)
}
