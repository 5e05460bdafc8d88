/**
 * `POST /v1/images/edits`: OpenAI's multipart edit endpoint, so `openai.images.edit({image, mask,
 * prompt})` works against this proxy. Uploaded files become data URIs and go through the same
 * `ImageService.edit` as `/v1/images/image2image`: the same input checks (bytes sniffed, size cap,
 * mask dimensions), the same payment, storage and response. A text field in place of a file (a
 * URL or a path) is taken as a reference, exactly as in the JSON route.
 *
 * Several images (to fuse) come as repeated `image` parts or as `image[]` parts, which is how the
 * openai SDK sends an array (`addFormValue` appends `[]` to an array's key); either way they
 * become the `image` array, in the order sent. How many a model takes is the service's concern.
 *
 * OpenAI options the gateway's edit route has no use for (quality, background, output_format,
 * user...) are passed on to the service, whose answer says they were not applied; a field no API
 * defines is refused by it before paying. Streaming is refused because the gateway does not stream
 * edits.
 */
import { Hono } from 'hono'
import { invalidRequest } from '../../errors.js'
import { EditRequest, MAX_INPUT_IMAGES } from '../../schemas.js'
import type { ImageService } from '../../service.js'
import { callOptionsOf } from '../call-options.js'
import { imagesResponse, replayHeaders } from '../respond.js'

export function editRoutes(service: ImageService): Hono {
  const routes = new Hono()
  routes.post('/v1/images/edits', async (c) => {
    const form = await readMultipartForm(c.req.raw)
    const input = await editInputFromForm(form)
    const result = await service.edit(input, callOptionsOf(c))
    return c.json(await imagesResponse(result, input.response_format === 'b64_json' ? 'b64_json' : 'url'), 200, replayHeaders(result))
  })
  return routes
}

async function readMultipartForm(request: Request): Promise<FormData> {
  const type = request.headers.get('content-type') ?? ''
  if (!/^multipart\/form-data\b/i.test(type)) throw invalidRequest('The body must be multipart/form-data (OpenAI images.edit shape); for JSON use /v1/images/image2image.', undefined, 'invalid_content_type')
  try {
    return await request.formData()
  } catch {
    throw invalidRequest('The multipart body could not be parsed.', undefined, 'invalid_multipart')
  }
}

type EditFormInput = Record<string, string | string[] | number | undefined>

/**
 * The form as the EditRequest the service validates; files become data URIs. Every other part is
 * passed on as text, so a field the edit request does not define is refused by the service
 * (naming the fields it takes) rather than dropped here.
 */
async function editInputFromForm(form: FormData): Promise<EditFormInput> {
  const stream = text(form, 'stream')
  if (stream !== undefined && stream !== 'false') throw invalidRequest('Streaming edits are not supported.', 'stream', 'unsupported_stream')
  const images = [...form.getAll('image'), ...form.getAll('image[]')]
  if (images.length > MAX_INPUT_IMAGES) throw invalidRequest(`The form has ${images.length} images; an edit takes at most ${MAX_INPUT_IMAGES}.`, 'image', 'too_many_images')
  const masks = form.getAll('mask')
  if (masks.length > 1) throw invalidRequest('Send at most one mask.', 'mask', 'too_many_masks')
  const input: EditFormInput = {}
  for (const name of new Set(form.keys())) {
    if (name === 'image' || name === 'image[]' || name === 'mask' || name === 'stream') continue
    const value = form.get(name)
    // A file in a field the request defines is a mistake; in one it does not, the service names the field.
    if (typeof value !== 'string' && Object.hasOwn(EditRequest.entries, name)) throw invalidRequest(`${name} must be a text field, not a file; only image and mask take files.`, name, 'invalid_multipart')
    input[name] = typeof value === 'string' ? value : 'a file'
  }
  // Multipart sends text; a whole number becomes a number, anything else is left for the schema to refuse.
  if (typeof input.n === 'string' && /^\d+$/.test(input.n)) input.n = Number(input.n)
  input.image = images.length === 0 ? undefined : images.length === 1 ? await asReference(images[0]!) : await Promise.all(images.map(asReference))
  input.mask = masks[0] === undefined ? undefined : await asReference(masks[0])
  return Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined && value !== ''))
}

function text(form: FormData, name: string): string | undefined {
  const value = form.get(name)
  return typeof value === 'string' ? value : undefined
}

/**
 * A file's bytes as a data URI for the resolver, which sniffs them (the part's Content-Type is not
 * trusted, so it is not used); its file name rides along so refusals can name it. A text part is a
 * reference (URL, path, data URI) as in JSON.
 */
async function asReference(part: FormDataEntryValue): Promise<string> {
  if (typeof part === 'string') return part
  const bytes = Buffer.from(await part.arrayBuffer())
  const name = part.name ? `;name=${encodeURIComponent(part.name)}` : ''
  return `data:application/octet-stream${name};base64,${bytes.toString('base64')}`
}
