/**
 * Reference images are capped by size on their way to the gateway: BlockRun's agent Franklin
 * refuses any over `REFERENCE_IMAGE_MAX_BYTES = 4_000_000` (src/tools/imagegen.ts, applied to the
 * bytes of each image and mask it sends to /v1/images/image2image). An image over the cap is
 * scaled down here, keeping its aspect ratio and format, until it fits, and a note says from what
 * to what; the request is then paid and sent as usual. Photos from a phone (4000x3000, 5–12 MB)
 * are the common case.
 */
import { JPEG, PNG } from '../store/sniff.js'
import type { CleanImage } from './clean.js'
import { MAX_INPUT_PIXELS } from './image-check.js'
import { loadSharp } from '../image-library.js'

export const GATEWAY_MAX_INPUT_BYTES = 4_000_000

/** Tries before giving up; each aims at the cap from how far the last one missed. */
const MAX_ATTEMPTS = 6
/** Aim this far under the cap, so the first try usually fits. */
const HEADROOM = 0.9
/** Quality of a downscaled JPEG or WebP. */
const DOWNSCALE_QUALITY = 90

export type Fitted = { image: CleanImage; note?: string | undefined }

export type FitOptions = {
  /** Names the input in the note: `image ("/home/me/photo.jpg")`. */
  label: string
  /** The input's size as the user knows it (the file), for the note. */
  sourceBytes: number
  maxBytes?: number
}

/** Undefined when the image cannot be made to fit (the caller then refuses it). */
export async function fitUnderCap(image: CleanImage, { label, sourceBytes, maxBytes = GATEWAY_MAX_INPUT_BYTES }: FitOptions): Promise<Fitted | undefined> {
  if (image.bytes.length <= maxBytes) return { image }
  const sharp = await loadSharp()
  // Bytes grow with pixels, so the first scale is the square root of the byte ratio.
  let scale = Math.sqrt((maxBytes * HEADROOM) / image.bytes.length)
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const width = Math.max(1, Math.round(image.width * scale))
    const height = Math.max(1, Math.round(image.height * scale))
    const pipeline = sharp(image.bytes, { limitInputPixels: MAX_INPUT_PIXELS, failOn: 'error' }).resize(width, height, { fit: 'fill' }).keepIccProfile()
    const encoded = image.type === PNG ? pipeline.png() : image.type === JPEG ? pipeline.jpeg({ quality: DOWNSCALE_QUALITY }) : pipeline.webp({ quality: DOWNSCALE_QUALITY })
    const bytes = await encoded.toBuffer()
    if (bytes.length <= maxBytes) {
      const note = `${label} is ${image.width}x${image.height}, ${megabytes(sourceBytes)}; it was sent downscaled to ${width}x${height}, ${megabytes(bytes.length)}, under the gateway's ${megabytes(maxBytes)} limit per reference image.`
      return { image: { bytes, type: image.type, width, height }, note }
    }
    scale *= Math.sqrt((maxBytes * HEADROOM) / bytes.length)
  }
  return undefined
}

/** Decimal megabytes, as the 4 MB cap is written: 6.3 MB. */
export function megabytes(bytes: number): string {
  const mb = bytes / 1_000_000
  return `${Number.isInteger(mb) ? mb : mb.toFixed(1)} MB`
}
