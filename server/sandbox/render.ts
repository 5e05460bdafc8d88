/**
 * Renders the sandbox's images: real PNGs at the requested size, the same bytes for the same
 * prompt, size and index, so tests can compare what comes out of the proxy with what went in.
 * No model runs here, and each picture says so across its top: someone opening one from the demo
 * must not take it for what the model would have made.
 */

/** The banner every sandbox picture carries. */
export const PLACEHOLDER_LABEL = 'SANDBOX PLACEHOLDER: not a generated image'
/** The banner's height as a share of the picture's. */
export const PLACEHOLDER_BAND = 0.1
import { createHash } from 'node:crypto'

export type RenderParameters = { prompt: string; width: number; height: number; index?: number; seedText?: string }

export async function renderImage({ prompt, width, height, index = 0 }: RenderParameters): Promise<Buffer> {
  const { default: sharp } = await import('sharp')
  const hash = createHash('sha256').update(`${prompt}\u0000${width}x${height}\u0000${index}`).digest()
  const hue = hash[0]! * 360 / 256
  const hue2 = (hue + 40 + (hash[1]! % 120)) % 360
  const label = escapeXml(prompt.slice(0, 60))
  const font = Math.max(12, Math.round(Math.min(width, height) / 24))
  const band = Math.max(12, Math.round(height * PLACEHOLDER_BAND))
  // Sized to fit the banner's width (bold: about 0.75 em per character) and height.
  const bannerFont = Math.max(6, Math.min(Math.round(band * 0.5), Math.floor(width / (PLACEHOLDER_LABEL.length * 0.75))))
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
  <defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1">
    <stop offset="0" stop-color="hsl(${hue.toFixed(0)},70%,55%)"/><stop offset="1" stop-color="hsl(${hue2.toFixed(0)},70%,35%)"/>
  </linearGradient></defs>
  <rect width="100%" height="100%" fill="url(#g)"/>
  <circle cx="${(width * (0.3 + hash[2]! / 640)).toFixed(0)}" cy="${(height * (0.3 + hash[3]! / 640)).toFixed(0)}" r="${(Math.min(width, height) / 5).toFixed(0)}" fill="hsla(${hue2.toFixed(0)},80%,80%,0.5)"/>
  <text x="50%" y="88%" font-family="sans-serif" font-size="${font}" fill="white" text-anchor="middle">${label}</text>
  <rect width="100%" height="${band}" fill="#111"/>
  <text x="50%" y="${(band * 0.66).toFixed(0)}" font-family="sans-serif" font-weight="bold" font-size="${bannerFont}" fill="#ffd400" text-anchor="middle">${PLACEHOLDER_LABEL}</text>
</svg>`
  return sharp(Buffer.from(svg)).png({ compressionLevel: 6 }).toBuffer()
}

/** A PNG full of noise: large on purpose, for memory and transfer benchmarks. */
export async function renderNoise({ width, height, index = 0 }: RenderParameters): Promise<Buffer> {
  const { default: sharp } = await import('sharp')
  const pixels = Buffer.allocUnsafe(width * height * 3)
  let seed = (0x9e3779b9 ^ index) >>> 0
  for (let i = 0; i < pixels.length; i += 4) {
    seed ^= seed << 13
    seed ^= seed >>> 17
    seed ^= seed << 5
    pixels.writeUInt32LE(seed >>> 0, i > pixels.length - 4 ? pixels.length - 4 : i)
  }
  return sharp(pixels, { raw: { width, height, channels: 3 } }).png({ compressionLevel: 1 }).toBuffer()
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`)
}
