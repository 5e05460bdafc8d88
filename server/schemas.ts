/**
 * The request schemas, written once. The HTTP routes validate with them, and the MCP and OpenClaw
 * tools advertise them (as JSON Schema) and validate with them, so the three front doors cannot
 * drift apart. Model-specific rules (which sizes a model takes, its largest n) need the catalog and
 * live in `resolve.ts`.
 */
import * as v from 'valibot'
import { toJsonSchema } from '@valibot/to-json-schema'
import { ASPECT_RATIO_PATTERN, bundledCatalog, DEFAULT_EDIT_MODEL, parseRatio, QUALITIES } from './catalog/index.js'
import { invalidRequest } from './errors.js'
import { parseUsd } from './money.js'
import { closest } from './suggest.js'

/**
 * Longest prompt any model takes (OpenAI's gpt-image models: 32,000 characters); each model's own
 * limit is checked against the catalog. A constant, not the bundled table's maximum: the live
 * catalog may list models the table does not.
 */
export const MAX_PROMPT_CHARS = 32_000
/**
 * Most images per request on the gateway, as BlockRun's clients state it (ClawRouter's image tool:
 * "max 4"; Franklin MAX_OUTPUT_IMAGES = 4); each model's own `maxN` is checked against the catalog.
 */
export const MAX_N = 4
/**
 * Most reference images any model fuses in one edit (the gateway's caps: OpenAI 4, Google 3); each
 * model's own limit is checked in edit-rules.ts. Only the bundled models edit: the gateway's edit
 * route has its own fixed list, which a model new to the live catalog is not assumed to be on.
 */
export const MAX_INPUT_IMAGES = Math.max(...bundledCatalog().models.map((m) => m.maxInputImages))
/**
 * The most OpenAI's Images API takes (its `n` is "between 1 and 10"): a request up to it gets past
 * the schema, so that one over its model's own limit is refused naming the model (resolve.ts).
 */
export const OPENAI_MAX_N = 10
/**
 * OpenAI image options the gateway has no use for. A request may carry them (clients built for
 * OpenAI send them); the answer says they were not applied instead of dropping them in silence.
 * With `quality`, `size`, `n`, `model`, `response_format` and `stream` (refused when true: the
 * gateway answers with whole images) this is every parameter OpenAI's Images API defines for
 * generations and edits (openai SDK 6 `ImageGenerateParams`, `ImageEditParams`); any other field
 * is refused before anything is paid (parseInput).
 */
export const UNSUPPORTED_OPENAI_FIELDS = ['style', 'background', 'output_format', 'output_compression', 'moderation', 'input_fidelity', 'partial_images', 'user'] as const
/**
 * An image reference (path, URL, data URI) is bounded so a bad caller cannot make us hash megabytes
 * of junk. Inline images (data URIs, multipart uploads) stop here, whatever BLOCKRUN_MAX_INPUT_MB
 * allows; paths and URLs are read up to that setting.
 */
const MAX_IMAGE_REF_CHARS = 40 * 1024 * 1024

const prompt = v.pipe(
  v.string('prompt must be a string'),
  v.trim(),
  v.nonEmpty('prompt is required and must not be empty'),
  v.maxLength(MAX_PROMPT_CHARS, `prompt is longer than ${MAX_PROMPT_CHARS} characters`),
  v.description('What the image should show (or, for edits, what to change).'),
)

const model = (description: string) =>
  v.optional(v.pipe(v.string('model must be a string'), v.maxLength(100, 'model name is too long'), v.description(description)))

const size = v.optional(
  v.pipe(
    v.string('size must be a string like 1024x1024'),
    v.regex(/^(\d{2,5}x\d{2,5}|auto)$/, 'size must look like WIDTHxHEIGHT, e.g. 1024x1024, or be auto'),
    v.description("WIDTHxHEIGHT, or auto (the model's default size). Default 1024x1024, which every model takes; each model takes its own sizes (list_image_models). A size the model does not take is refused before paying."),
  ),
)

const aspectRatio = v.optional(
  v.pipe(
    v.string('aspect_ratio must be a string'),
    v.regex(ASPECT_RATIO_PATTERN, 'aspect_ratio must be square, portrait, landscape or a ratio such as 16:9'),
    v.check((text) => parseRatio(text) !== undefined, 'aspect_ratio must be a ratio of two positive numbers, such as 16:9'),
    v.description('Instead of size: square, portrait, landscape or a ratio such as 16:9. Maps to the nearest size the model takes; the answer says which.'),
  ),
)

const quality = v.optional(
  v.pipe(
    v.picklist(QUALITIES, `quality must be one of ${QUALITIES.join(', ')}`),
    v.description("standard or hd, for models that take it (cogview); OpenAI's low and medium map to standard, high to hd, auto leaves it to the model. For other models the answer says it was not applied."),
  ),
)

const n = v.optional(
  v.pipe(
    v.number('n must be a number'),
    v.integer('n must be a whole number'),
    v.minValue(1, 'n must be at least 1'),
    v.maxValue(OPENAI_MAX_N, `n must be at most ${OPENAI_MAX_N}, and every model makes at most ${MAX_N} per request`),
    v.description(`How many images in one paid request (default 1, at most ${MAX_N} on every model). Cost scales with n.`),
  ),
)

const responseFormat = v.optional(
  v.picklist(['url', 'b64_json'], 'response_format must be "url" or "b64_json"'),
)

/** Streaming (OpenAI's `stream: true`) is refused before paying: the gateway answers with whole images. */
const stream = v.optional(
  v.pipe(
    v.boolean('stream must be true or false'),
    v.check((value) => !value, 'stream: streaming is not supported (the gateway answers with whole images); leave stream unset or false'),
  ),
)

/** The OpenAI options the gateway ignores, kept so the answer can say they were not applied. */
const unsupportedOpenAiFields = Object.fromEntries(UNSUPPORTED_OPENAI_FIELDS.map((name) => [name, v.optional(v.unknown())])) as Record<(typeof UNSUPPORTED_OPENAI_FIELDS)[number], v.OptionalSchema<v.UnknownSchema, undefined>>

const imageRef = (description: string) =>
  v.pipe(
    v.string('must be a string: a URL, a local file path or a data URI'),
    v.nonEmpty('must not be empty'),
    v.maxLength(MAX_IMAGE_REF_CHARS, `is longer than ${MAX_IMAGE_REF_CHARS / 1024 / 1024} MiB of text, the most a data URI or base64 image (about 30 MB of image) may be; pass a local file path or a URL for a larger image`),
    v.description(description),
  )

/**
 * `max_price`: the most the caller lets this one call cost, in USD for the whole call (all n
 * images and the fee). Text such as "0.06" (a JSON number is read through its shortest decimal
 * form, so 0.06 means "0.06"), parsed exactly into USDC base units, never through a float. The
 * payment is refused before signing when the 402 asks more. Advertised to tools as a string.
 */
const USD_TEXT = /^\s*\$?\s*\d+(\.\d{0,6})?\s*$/
export const maxPrice = v.optional(
  v.pipe(
    v.union([v.string(), v.pipe(v.number(), v.finite(), v.transform(String))], 'max_price must be a dollar amount such as "0.06"'),
    v.regex(USD_TEXT, 'max_price must be a dollar amount such as "0.06" (at most 6 decimals)'),
    v.transform(parseUsd),
    v.check((amount) => amount > 0n, 'max_price must be more than $0'),
    v.description(
      'Most this call may cost, in USD for the whole call (every image and the fee), e.g. "0.06". If the gateway asks more, nothing is signed and the refusal names the price. Get the exact price first with quote_image.',
    ),
  ),
)

/**
 * `idempotency_key`: the same key within 24 hours returns the first result without paying again
 * (server/receipts/idempotency.ts). HTTP callers may send it as the `Idempotency-Key` header.
 */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,255}$/
export const idempotencyKey = v.optional(
  v.pipe(
    v.string('idempotency_key must be a string'),
    v.regex(IDEMPOTENCY_KEY_PATTERN, 'idempotency_key must be 1 to 255 printable ASCII characters without spaces'),
    v.description('Optional. The same key within 24 hours returns the first result instead of paying again (a retry after a timeout, say). Omit it to make a new image.'),
  ),
)

/** The guard and the retry key every paid call takes (HTTP body, tools, CLI). */
const paidCallFields = { max_price: maxPrice, idempotency_key: idempotencyKey }

/** Fields every front door shares for generation. */
export const GenerateInput = v.strictObject({
  prompt,
  model: model('Model id or alias; default nano-banana. E.g. nano-banana, banana-pro, gpt-image, gpt-image-2, seedream, grok-imagine, cogview; list_image_models gives the models the gateway offers now. The old names dall-e-3 and flux still work and run on gpt-image-2 and grok-imagine (the answer says so).'),
  size,
  aspect_ratio: aspectRatio,
  n,
  quality,
  ...paidCallFields,
})

/** `POST /v1/images/generations`: the tool input plus OpenAI's `response_format` and the options the gateway ignores. */
export const GenerateRequest = v.strictObject({ ...GenerateInput.entries, response_format: responseFormat, stream, ...unsupportedOpenAiFields })
export type GenerateRequest = v.InferOutput<typeof GenerateRequest>

const editModels = bundledCatalog().models.filter((m) => m.edit)
const maskModels = editModels.filter((m) => m.mask)
const defaultEditModel = bundledCatalog().find(DEFAULT_EDIT_MODEL)!.model

/**
 * One image as a string, or several to fuse as an array (tool schemas advertise only the array,
 * see jsonSchemaOf). Each entry is a reference like any other (URL, path, data URI, earlier
 * result); how many a model takes is checked against the catalog (edit-rules.ts).
 */
const imageItem = 'An http(s) URL, a local file path (absolute or ~/...), a data: URI, or the path or URL of an earlier result.'
const images = v.pipe(
  v.union(
    [
      imageRef(imageItem),
      v.pipe(
        v.array(imageRef(imageItem), 'must be a string or an array of strings'),
        v.minLength(1, 'must hold at least one image'),
        v.maxLength(MAX_INPUT_IMAGES, `holds more than ${MAX_INPUT_IMAGES} images, the most any model fuses`),
      ),
    ],
    'must be a string (one image) or an array of strings (several images to fuse)',
  ),
  v.description(
    `The image to edit, or 2 to ${MAX_INPUT_IMAGES} images to combine into one picture (${editModels.map((m) => `${m.aliases[0]} up to ${m.maxInputImages}`).join(', ')}), in the order the prompt refers to them. ` +
      'A single image may also be given as a plain string.',
  ),
)

export const EditInput = v.strictObject({
  prompt,
  image: images,
  mask: v.optional(
    imageRef(
      `Optional mask, the size of the image, marking the area to change: white = edit, black = keep; or, as OpenAI takes it, transparent = edit, opaque = keep (a mask with any transparent pixel is read that way). Only ${maskModels.map((m) => m.aliases[0]).join(' and ')}, and only with one image.`,
    ),
  ),
  model: model(`Edit model: ${editModels.map((m) => `${m.aliases[0]} (${m.id})`).join(', ')}. Default ${defaultEditModel.aliases[0]} (${defaultEditModel.id}), the cheapest.`),
  size,
  aspect_ratio: aspectRatio,
  n,
  ...paidCallFields,
})

/** `POST /v1/images/image2image`: the tool input plus OpenAI's `response_format`, and options the edit route does not apply. */
export const EditRequest = v.strictObject({ ...EditInput.entries, response_format: responseFormat, quality, stream, ...unsupportedOpenAiFields })

/** The OpenAI options a parsed request carries that the gateway ignores. */
export function unsupportedFields(request: Partial<Record<(typeof UNSUPPORTED_OPENAI_FIELDS)[number], unknown>>): string[] {
  return UNSUPPORTED_OPENAI_FIELDS.filter((name) => request[name] !== undefined)
}
export type EditRequest = v.InferOutput<typeof EditRequest>

/**
 * `POST /v1/images/quote` and the `quote_image` tool: a generation body, or an edit body (one
 * with `image`), priced by the gateway's own 402 without signing anything. A body's `max_price`
 * is checked against the price; its `idempotency_key` has nothing to do (the answer says so).
 */
const quotedEdit = { image: v.optional(images), mask: EditInput.entries.mask }
function withoutPaidCallFields<E extends typeof paidCallFields>({ max_price: _price, idempotency_key: _key, ...rest }: E): Omit<E, keyof typeof paidCallFields> {
  return rest
}
export const QuoteRequest = v.strictObject({ ...GenerateRequest.entries, ...quotedEdit })
export type QuoteRequest = v.InferOutput<typeof QuoteRequest>
/** The quote tool's input: the generate tool's fields and an edit's image and mask, without the paid-call ones. */
export const QuoteInput = v.strictObject({ ...withoutPaidCallFields(GenerateInput.entries), ...quotedEdit })

/**
 * Validates `input`, or throws a 400 naming the first offending field. A field given as JSON
 * `null` counts as not given: OpenAI's API takes null for every optional field, and clients built
 * for it send `"size": null` rather than leave the key out.
 */
export function parseInput<S extends v.GenericSchema>(schema: S, input: unknown): v.InferOutput<S> {
  const given = withoutNullFields(input)
  refuseUnknownFields(schema, given)
  const result = v.safeParse(schema, given)
  if (result.success) return result.output
  const issue = result.issues[0]!
  // `image.1` is reported as `image[1]`, with the field itself as the param.
  const where = v.getDotPath(issue)?.replace(/\.(\d+)/g, '[$1]') ?? undefined
  const param = where?.replace(/\[.*$/, '')
  // A missing key is reported by the object schema in valibot's own words; say it plainly.
  const missing = (issue.type === 'object' || issue.type === 'strict_object') && issue.input === undefined && where !== undefined
  const message = missing ? `${where} is required` : where && !issue.message.startsWith(where) ? `${where}: ${issue.message}` : issue.message
  throw invalidRequest(message, param, param ? `invalid_${param}` : 'invalid_body')
}

/**
 * A field the schema does not define is refused, naming the fields it does: a setting that would
 * be dropped must not be paid for (a misspelt `promt`, an option of another API). Checked before
 * anything else, so the answer names the stray field rather than a consequence of it.
 */
function refuseUnknownFields(schema: v.GenericSchema, input: unknown): void {
  const entries = (schema as { entries?: Record<string, unknown> }).entries
  if (!entries || !input || typeof input !== 'object' || Array.isArray(input)) return
  const known = Object.keys(entries)
  const unknown = Object.keys(input).filter((key) => !Object.hasOwn(entries, key))
  if (!unknown.length) return
  const first = unknown[0]!
  const near = closest(first, known)
  const names = unknown.map((key) => `"${key}"`).join(', ')
  throw invalidRequest(
    `Unknown field${unknown.length > 1 ? 's' : ''} ${names}${near ? ` (did you mean "${near}"?)` : ''}: nothing was paid. Fields this request takes: ${known.join(', ')}.`,
    first,
    'unknown_field',
  )
}

function withoutNullFields(input: unknown): unknown {
  if (!input || typeof input !== 'object' || Array.isArray(input)) return input
  return Object.fromEntries(Object.entries(input).filter(([, value]) => value !== null))
}

/** Plain JSON Schema (no $ref, no anyOf) for tool definitions. */
export function jsonSchemaOf(schema: v.GenericSchema): Record<string, unknown> {
  const json = toJsonSchema(schema, { errorMode: 'ignore', overrideSchema: ({ jsonSchema }) => asArrayOnly(jsonSchema as Record<string, unknown>) }) as Record<string, unknown>
  delete json.$schema
  return json
}

/**
 * A field that takes one value or an array of them (`image`) is advertised as the array: tool
 * schemas stay free of anyOf, which several MCP clients and model APIs refuse, and one value in a
 * one-element array means the same. The bare value is still accepted (the HTTP routes' contract).
 */
function asArrayOnly(json: Record<string, unknown>): Record<string, unknown> | undefined {
  const branches = json.anyOf as Array<Record<string, unknown>> | undefined
  if (!branches || branches.length !== 2) return undefined
  // A string-or-number field (max_price) is advertised as the string; a number is still accepted.
  if (branches.some((b) => b.type === 'number') && branches.some((b) => b.type === 'string')) {
    const { anyOf: _, ...rest } = json
    return { ...branches.find((b) => b.type === 'string'), ...rest }
  }
  const array = branches.find((branch) => branch.type === 'array')
  const single = branches.find((branch) => branch !== array)
  if (!array || !single || (array.items as { type?: unknown } | undefined)?.type !== single.type) return undefined
  const { anyOf: _, ...rest } = json
  return { ...array, ...rest }
}
