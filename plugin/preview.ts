/**
 * Small inline previews of generated images, for agent front doors that show images (MCP image
 * blocks, OpenClaw tool content). The full-resolution file stays on disk and is referenced by path
 * and URL; what goes inline is a downscaled copy small enough for the tightest client: Claude Code
 * caps tool output at ~25k tokens, Claude Desktop rejects results over 1 MB, and vision APIs refuse
 * images over 8000 px (2000 px when a request holds many). A 512 px JPEG is usually 20–50 KB.
 *
 * sharp is loaded on first use only, so listing tools never pays for libvips. Where it cannot
 * load (a platform whose native build was not installed, e.g. a Claude Desktop extension unpacked
 * on a system it carries no build for), previews are skipped and the front doors say so once in
 * the tool text (`ImageLibraryUnavailable`, server/image-library.ts); the files are unaffected.
 */
import { readFile } from 'node:fs/promises'
import { loadSharp } from '../server/image-library.js'

export { ImageLibraryUnavailable } from '../server/image-library.js'

export const DEFAULT_PREVIEW_EDGE = 512
/** Smallest and largest long edge a user may ask for (2000 px keeps multi-image requests valid). */
export const MIN_PREVIEW_EDGE = 32
export const MAX_PREVIEW_EDGE = 2000
/**
 * Most base64 characters one preview may take. Well under the 100 KB a preview must stay below,
 * whatever edge is configured: past this, quality and then size go down until it fits.
 */
export const MAX_PREVIEW_BASE64_CHARS = 75_000

export type PreviewSetting = { enabled: false } | { enabled: true; maxEdge: number }

export type PreviewOptions = {
  /** Longest edge of the preview in pixels (never enlarged). */
  maxEdge?: number
  /** Budget for the base64 text (default MAX_PREVIEW_BASE64_CHARS). */
  maxBase64Chars?: number
}

export type Preview = {
  /** Base64 of the encoded preview (no data: prefix). */
  data: string
  mimeType: 'image/jpeg' | 'image/webp'
  width: number
  height: number
}

/**
 * Reads `IMAGEGEN_MCP_PREVIEW`: unset → 512 px; `off` (or 0/false/no/none) → no previews; a number
 * → that long edge, clamped to 32–2000. Anything else keeps the default and says why via `warn`.
 */
export function previewSettingFrom(value: string | undefined, warn: (message: string) => void = () => {}): PreviewSetting {
  const text = value?.trim().toLowerCase() ?? ''
  if (text === '') return { enabled: true, maxEdge: DEFAULT_PREVIEW_EDGE }
  if (['off', '0', 'false', 'no', 'none'].includes(text)) return { enabled: false }
  const match = /^(\d{1,5})(px)?$/.exec(text)
  if (!match) {
    warn(`IMAGEGEN_MCP_PREVIEW="${value}" is not "off" or a pixel size; using ${DEFAULT_PREVIEW_EDGE} px previews.`)
    return { enabled: true, maxEdge: DEFAULT_PREVIEW_EDGE }
  }
  const requested = Number(match[1])
  const maxEdge = Math.min(MAX_PREVIEW_EDGE, Math.max(MIN_PREVIEW_EDGE, requested))
  if (maxEdge !== requested) warn(`IMAGEGEN_MCP_PREVIEW=${requested} is outside ${MIN_PREVIEW_EDGE}–${MAX_PREVIEW_EDGE}; using ${maxEdge} px.`)
  return { enabled: true, maxEdge }
}

/** Quality of the first attempt, and the lower ones tried when the first is only a little too big. */
const QUALITY = 80
const LOWER_QUALITIES = [65, 50] as const

/**
 * Renders a preview of the image at `source` (a file path or the bytes): EXIF-rotated, long edge at
 * most `maxEdge`, JPEG for opaque images and WebP for ones with transparency (JPEG would flatten
 * it). Most images fit the base64 budget at the first attempt; one that does not (noise, dense
 * detail) is re-encoded at lower quality, then smaller, the edge estimated from how far off it was.
 * The source is decoded once per edge; only encoding repeats.
 */
export async function renderPreview(source: string | Uint8Array, options: PreviewOptions = {}): Promise<Preview> {
  const sharp = await loadSharp()
  const budget = options.maxBase64Chars ?? MAX_PREVIEW_BASE64_CHARS
  // Read the bytes ourselves: sharp's file cache would otherwise keep the file open.
  const input = typeof source === 'string' ? await readFile(source) : source
  const transparent = (await sharp(input).metadata()).hasAlpha === true
  const mimeType = transparent ? 'image/webp' : 'image/jpeg'
  let edge = Math.min(options.maxEdge ?? DEFAULT_PREVIEW_EDGE, MAX_PREVIEW_EDGE)

  while (edge >= MIN_PREVIEW_EDGE) {
    const resized = sharp(input).rotate().resize({ width: edge, height: edge, fit: 'inside', withoutEnlargement: true })
    const { data: pixels, info } = await (transparent ? resized.ensureAlpha() : resized.flatten({ background: '#ffffff' })).raw().toBuffer({ resolveWithObject: true })
    const encode = async (quality: number) => {
      const raw = sharp(pixels, { raw: { width: info.width, height: info.height, channels: info.channels } })
      return (transparent ? raw.webp({ quality, alphaQuality: quality }) : raw.jpeg({ quality, mozjpeg: true })).toBuffer()
    }
    const fits = (data: Buffer) => base64Length(data.length) <= budget
    const done = (data: Buffer): Preview => ({ data: data.toString('base64'), mimeType, width: info.width, height: info.height })

    const first = await encode(QUALITY)
    if (fits(first)) return done(first)
    const overshoot = base64Length(first.length) / budget
    if (overshoot < 2) {
      for (const quality of LOWER_QUALITIES) {
        const data = await encode(quality)
        if (fits(data)) return done(data)
      }
    }
    // Encoded size grows about with the pixel count: shrink the edge by the square root of the overshoot.
    edge = Math.floor(Math.max(info.width, info.height) * Math.min(0.8, 0.9 / Math.sqrt(overshoot)))
  }
  throw new Error(`could not fit a preview in ${budget} base64 characters`)
}

function base64Length(bytes: number): number {
  return 4 * Math.ceil(bytes / 3)
}
