/**
 * The sandbox's image2image input check, standing for what the gateway (and OpenAI behind it)
 * enforces, so that a proxy which forwards the wrong thing fails in tests instead of in a user's
 * paid request:
 * - `image` and `mask` are `data:` URIs with base64 data (the proxy resolves URLs and paths);
 * - the declared media type is an image type and matches the bytes;
 * - the bytes decode completely as PNG, JPEG or WebP;
 * - the mask is a PNG of exactly the image's dimensions.
 * It answers with a seed that makes the rendered result depend on the input, so tests can tell an
 * edit of one image from an edit of another.
 */
import { sniffImage } from '../store/sniff.js'

export type EditInputCheck = { seed: string; width: number; height: number } | { error: string }

type Decoded = { bytes: Buffer; mime: string; width: number; height: number }

export async function checkEditInputs(body: Record<string, unknown>): Promise<EditInputCheck> {
  const image = await decodeImage('image', body.image)
  if ('error' in image) return image
  if (body.mask !== undefined) {
    const mask = await decodeImage('mask', body.mask)
    if ('error' in mask) return mask
    if (mask.mime !== 'image/png') return { error: `mask must be a PNG image, got ${mask.mime}` }
    if (mask.width !== image.width || mask.height !== image.height)
      return { error: `mask is ${mask.width}x${mask.height} but image is ${image.width}x${image.height}` }
  }
  return { seed: ` [edit of ${image.bytes.length} bytes ${image.width}x${image.height}${body.mask === undefined ? '' : ' masked'}]`, width: image.width, height: image.height }
}

async function decodeImage(field: string, value: unknown): Promise<Decoded | { error: string }> {
  if (typeof value !== 'string') return { error: `${field} is required` }
  const match = /^data:([^;,]*);base64,/i.exec(value)
  if (!match) return { error: `${field} must be a base64 data URI (data:image/png;base64,...)` }
  const declared = match[1]!.toLowerCase()
  const bytes = Buffer.from(value.slice(match[0].length), 'base64')
  const type = sniffImage(bytes.subarray(0, 12))
  if (!type) return { error: `${field} is not a PNG, JPEG or WebP image` }
  if (declared !== type.mime) return { error: `${field} is declared as ${declared || 'no type'} but its bytes are ${type.mime}` }
  const { default: sharp } = await import('sharp')
  try {
    const metadata = await sharp(bytes).metadata()
    await sharp(bytes, { failOn: 'error' }).stats()
    if (!metadata.width || !metadata.height) return { error: `${field} has no dimensions` }
    return { bytes, mime: type.mime, width: metadata.width, height: metadata.height }
  } catch {
    return { error: `${field} does not decode as an image` }
  }
}
