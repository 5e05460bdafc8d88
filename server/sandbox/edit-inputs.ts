/**
 * The sandbox's image2image input check, standing for what the gateway (and OpenAI or Google
 * behind it) enforces, so that a proxy which forwards the wrong thing fails in tests instead of in
 * a user's paid request. The rules, and where they come from:
 * - only edit-capable models; OpenAI models take up to 4 reference images, Google models up to 3;
 *   a mask only on OpenAI models and never with several images: Franklin's mirrors of the
 *   gateway's EDIT_SUPPORTED_MODELS, MAX_IMAGES_BY_PREFIX and MASK_SUPPORTED_MODELS
 *   (src/tools/imagegen.ts, "Mirrors ... src/app/api/v1/images/image2image/route.ts");
 * - `image` is one data URI, or an array of 2–4 to fuse (REFERENCE.md §1; Franklin sends a single
 *   image as a string and only several as an array);
 * - every image and the mask is a `data:image/...;base64,` URI (the route "validates `image`
 *   against /^data:image\//"), whose declared type matches its bytes, that decodes completely as
 *   PNG, JPEG or WebP, and is at most 4,000,000 bytes (Franklin's REFERENCE_IMAGE_MAX_BYTES: no
 *   BlockRun client sends more, and what the gateway does past it is not public);
 * - the mask is a PNG of exactly the image's dimensions (OpenAI's edit API).
 *
 * The rules come in as a parameter, from the sandbox's model catalog (./catalog.ts: `edit`,
 * `mask`, `maxImages` per model), so the table can move without this file. Every request is
 * recorded (`EditInbox.received`, and `/_sandbox/received` without the bytes), so tests can see
 * exactly what reached the "gateway".
 * An accepted edit answers with a seed naming the pixels it received, so the rendered result
 * depends on them and tests can tell an edit of one image from an edit of another.
 */
import { createHash } from 'node:crypto'
import { sniffImage } from '../store/sniff.js'

/** What the gateway allows on one model's edits. */
export type GatewayEditRules = { edit: boolean; mask: boolean; maxImages: number }

export const GATEWAY_MAX_IMAGE_BYTES = 4_000_000
/** Edits kept in `received` (the newest); enough for any test, bounded for long runs. */
const KEEP_RECEIVED = 32

export type ReceivedImage = { mime: string; bytes: Buffer; width: number; height: number; /** sha256 of the decoded pixels, 16 hex digits. */ pixels: string }

export type ReceivedEdit = {
  model: string
  /** Whether the request carried a payment header. */
  paid: boolean
  /** How `image` was sent: one string, or an array. */
  imageForm: 'string' | 'array' | 'missing' | 'other'
  images: ReceivedImage[]
  mask?: ReceivedImage | undefined
  /** The 400 it was answered with, when refused. */
  error?: string | undefined
}

export type EditInputCheck = { seed: string } | { error: string }

export class EditInbox {
  /** The newest edits received, oldest first. */
  readonly received: ReceivedEdit[] = []

  async check(body: Record<string, unknown>, rules: GatewayEditRules, headers: Headers): Promise<EditInputCheck> {
    const model = String(body.model)
    const entry: ReceivedEdit = { model, paid: Boolean(headers.get('payment-signature') || headers.get('x-payment')), imageForm: formOf(body.image), images: [] }
    this.received.push(entry)
    if (this.received.length > KEEP_RECEIVED) this.received.shift()
    const result = await checkEditInputs(body, rules, entry)
    if ('error' in result) entry.error = result.error
    return result
  }

  /** `received` without the bytes, for `/_sandbox/received`. */
  summary() {
    const describe = ({ bytes, ...image }: ReceivedImage) => ({ ...image, bytes: bytes.length })
    return { received: this.received.map((edit) => ({ ...edit, images: edit.images.map(describe), mask: edit.mask && describe(edit.mask) })) }
  }
}

async function checkEditInputs(body: Record<string, unknown>, rules: GatewayEditRules, entry: ReceivedEdit): Promise<EditInputCheck> {
  if (!rules.edit) return { error: `Model ${entry.model} does not support image editing` }
  const list = Array.isArray(body.image) ? (body.image as unknown[]) : [body.image]
  if (Array.isArray(body.image) && (list.length < 2 || list.length > rules.maxImages))
    return { error: `image array must hold 2 to ${rules.maxImages} images for ${entry.model} (send a single image as a string); got ${list.length}` }
  if (body.mask !== undefined && !rules.mask) return { error: `Model ${entry.model} does not support mask-based editing` }
  if (body.mask !== undefined && list.length > 1) return { error: 'mask cannot be combined with multiple images' }
  for (const [index, value] of list.entries()) {
    const decoded = await decodeImage(list.length === 1 ? 'image' : `image[${index}]`, value)
    if ('error' in decoded) return decoded
    entry.images.push(decoded)
  }
  const image = entry.images[0]!
  if (body.mask !== undefined) {
    const mask = await decodeImage('mask', body.mask)
    if ('error' in mask) return mask
    entry.mask = mask
    if (mask.mime !== 'image/png') return { error: `mask must be a PNG image, got ${mask.mime}` }
    if (mask.width !== image.width || mask.height !== image.height) return { error: `mask is ${mask.width}x${mask.height} but image is ${image.width}x${image.height}` }
  }
  return { seed: editSeed(entry.images, body.mask !== undefined) }
}

/** The text the result is rendered from: each image's size and pixel digest. */
export function editSeed(images: ReadonlyArray<{ width: number; height: number; pixels: string }>, masked: boolean): string {
  return ` [edit of ${images.map((image) => `${image.width}x${image.height} ${image.pixels}`).join(' + ')}${masked ? ' masked' : ''}]`
}

/** The digest `ReceivedImage.pixels` holds: equal for two files that decode to the same pixels. */
export async function pixelDigest(bytes: Buffer): Promise<{ width: number; height: number; pixels: string }> {
  const { default: sharp } = await import('sharp')
  const { data, info } = await sharp(bytes, { failOn: 'error' }).raw().toBuffer({ resolveWithObject: true })
  return { width: info.width, height: info.height, pixels: createHash('sha256').update(data).digest('hex').slice(0, 16) }
}

function formOf(image: unknown): ReceivedEdit['imageForm'] {
  return typeof image === 'string' ? 'string' : Array.isArray(image) ? 'array' : image === undefined ? 'missing' : 'other'
}

async function decodeImage(field: string, value: unknown): Promise<ReceivedImage | { error: string }> {
  if (value === undefined) return { error: `${field} is required` }
  if (typeof value !== 'string') return { error: `${field} must be a string` }
  const match = /^data:(image\/[^;,]*);base64,/i.exec(value)
  if (!match) return { error: `${field} must be a base64 data URI of an image (data:image/png;base64,...)` }
  const declared = match[1]!.toLowerCase()
  const bytes = Buffer.from(value.slice(match[0].length), 'base64')
  if (bytes.length > GATEWAY_MAX_IMAGE_BYTES) return { error: `${field} is ${bytes.length} bytes, over the ${GATEWAY_MAX_IMAGE_BYTES}-byte limit per image` }
  const type = sniffImage(bytes.subarray(0, 12))
  if (!type) return { error: `${field} is not a PNG, JPEG or WebP image` }
  if (declared !== type.mime) return { error: `${field} is declared as ${declared} but its bytes are ${type.mime}` }
  try {
    return { mime: type.mime, bytes, ...(await pixelDigest(bytes)) }
  } catch {
    return { error: `${field} does not decode as an image` }
  }
}
