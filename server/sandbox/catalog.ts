/**
 * The sandbox's own model catalog: what the gateway enforces per model and how it answers. It is
 * written from BlockRun's public clients, not imported from the proxy's catalog (server/catalog/),
 * so the tests compare the proxy against a gateway model rather than against itself.
 *
 * Sources: prices and sizes from ClawRouter `src/proxy.ts` IMAGE_PRICING ("must match server's
 * IMAGE_MODELS") and Franklin `src/tools/imagegen.ts` IMAGE_MODEL_SIZES (the gateway's table);
 * edit, mask and reference-image limits from Franklin's mirrors of the gateway's image2image route
 * (EDIT_SUPPORTED_MODELS, MASK_SUPPORTED_MODELS, MAX_IMAGES_BY_PREFIX); result forms from
 * REFERENCE.md §1 (Google models answer data URIs, gpt-image-2 and grok-imagine-image-pro are slow
 * and answer 202 jobs); the `/v1/models` shape from the SDK's `listImageModels` field names and
 * BlockRun's model-catalog snapshot of the Base listing (`billing_mode`, `pricing.per_image` with
 * the 5% margin in, `transaction_fee`).
 */

/** How the gateway hands back images: hosted URL, data URI, `b64_json`, or a `202` job to poll. */
export type ResultForm = 'url' | 'data_uri' | 'b64_json' | 'job'

export type SandboxModel = {
  id: string
  name: string
  provider: string
  description: string
  /** List price per image by size, base units; the keys are the sizes the gateway takes, default first. */
  prices: Readonly<Record<string, bigint>>
  maxN: number
  /** Edits (image2image) accepted. */
  edit: boolean
  /** A mask accepted on edits. */
  mask: boolean
  /** Reference images one edit may carry. */
  maxImages: number
  /** `quality` values taken; for other models the field is ignored ("for supported models", SDK). */
  qualities: readonly string[]
  /** Answers each image with a `revised_prompt` (xAI's image API rewrites prompts and returns them). */
  revisesPrompt?: boolean
  /** `max_prompt_length` in the listing, when the listing states one. */
  maxPromptLength?: number
  form: ResultForm
}

const OPENAI = { edit: true, mask: true, maxImages: 4, qualities: [], maxN: 4 } as const
const GOOGLE_EDIT = { edit: true, mask: false, maxImages: 3, qualities: [], maxN: 4, form: 'data_uri' } as const
const GENERATE_ONLY = { edit: false, mask: false, maxImages: 0, qualities: [], maxN: 4 } as const

export const SANDBOX_MODELS: readonly SandboxModel[] = [
  { ...GOOGLE_EDIT, id: 'google/nano-banana', name: 'Nano Banana', provider: 'google', description: "Google's Gemini 2.5 Flash image generation", prices: { '1024x1024': 50_000n } },
  { ...GENERATE_ONLY, id: 'google/nano-banana-2', name: 'Nano Banana 2', provider: 'google', description: "Google's Gemini 3.1 Flash image generation", prices: { '1024x1024': 90_000n }, form: 'data_uri' },
  {
    ...GOOGLE_EDIT,
    id: 'google/nano-banana-pro',
    name: 'Nano Banana Pro',
    provider: 'google',
    description: "Google's Gemini 3 Pro image generation, up to 4K",
    prices: { '1024x1024': 100_000n, '2048x2048': 100_000n, '4096x4096': 150_000n },
  },
  { ...OPENAI, id: 'openai/gpt-image-1', name: 'GPT Image 1', provider: 'openai', description: "OpenAI's GPT Image 1", prices: { '1024x1024': 20_000n, '1536x1024': 40_000n, '1024x1536': 40_000n }, form: 'b64_json' },
  // Always slow: the paid POST answers a 202 job (ClawRouter v0.12.179, Franklin 2026-05).
  { ...OPENAI, id: 'openai/gpt-image-2', name: 'GPT Image 2', provider: 'openai', description: "OpenAI's GPT Image 2, reasoning-driven", prices: { '1024x1024': 60_000n, '1536x1024': 120_000n, '1024x1536': 120_000n }, form: 'job' },
  {
    ...GENERATE_ONLY,
    id: 'bytedance/seedream-5-pro',
    name: 'Seedream 5.0 Pro',
    provider: 'bytedance',
    description: "ByteDance's Seedream 5.0 Pro, up to 4K-class",
    // ClawRouter: $0.045 at 1024x1024 and 2048x1024, $0.09 at 2048x2048 ("2K-class"); "up to 2848x1600 / 2304x1728".
    prices: { '1024x1024': 45_000n, '2048x1024': 45_000n, '2048x2048': 90_000n, '2304x1728': 90_000n, '2848x1600': 90_000n },
    form: 'url',
  },
  { ...GENERATE_ONLY, id: 'xai/grok-imagine-image', name: 'Grok Imagine', provider: 'xai', description: "xAI's Grok Imagine image model", prices: { '1024x1024': 20_000n }, revisesPrompt: true, form: 'url' },
  { ...GENERATE_ONLY, id: 'xai/grok-imagine-image-pro', name: 'Grok Imagine Pro', provider: 'xai', description: "xAI's Grok Imagine quality tier", prices: { '1024x1024': 70_000n }, revisesPrompt: true, form: 'job' },
  {
    ...GENERATE_ONLY,
    id: 'zai/cogview-4',
    name: 'CogView-4',
    provider: 'zai',
    description: "Zhipu's CogView-4, up to 1440x1440",
    prices: { '1024x1024': 15_000n, '512x512': 15_000n, '768x768': 15_000n, '768x1344': 15_000n, '1344x768': 15_000n, '1440x1440': 20_000n },
    // Zhipu's CogView-4 API takes quality "standard" | "hd" (the SDK's values).
    qualities: ['standard', 'hd'],
    form: 'url',
  },
  // SANDBOX-ONLY: no such model exists at BlockRun. It is listed by the sandbox's /v1/models and
  // absent from the proxy's bundled table, so tests can tell the live catalog from the fallback.
  {
    ...GENERATE_ONLY,
    id: 'sandbox/live-only-image',
    name: 'Sandbox live-only image model',
    provider: 'sandbox',
    description: 'A sandbox-only model that only the live catalog knows',
    prices: { '1024x1024': 30_000n, '1536x1024': 30_000n },
    maxPromptLength: 4000,
    form: 'b64_json',
  },
]

/** Models the gateway delisted: it answers 400 with this text (ClawRouter CHANGELOG). */
export const DELISTED: Readonly<Record<string, string>> = {
  'openai/dall-e-3': 'Delisted 2026-05-25: OpenAI removed dall-e-3 from the API',
}

export function sandboxModel(id: string): SandboxModel | undefined {
  return SANDBOX_MODELS.find((model) => model.id === id)
}

/** What the gateway asks for `n` images at `size`: list price × n × 1.05, rounded up to a base unit (the fee is added by the caller). */
export function sandboxPrice(model: SandboxModel, size: string, n: number): bigint {
  const list = model.prices[size]
  if (list === undefined) throw new Error(`${model.id} has no price for ${size}`)
  return (list * BigInt(n) * 105n + 99n) / 100n
}

/**
 * Entries of other categories: the unified catalog lists chat, video and speech models beside the
 * image ones (BlockRun's model-catalog), and an image client must filter them out. The chat model
 * reads images ("vision") without making them.
 */
const OTHER_ENTRIES = [
  { id: 'anthropic/claude-sonnet-4.6', object: 'model', name: 'Claude Sonnet 4.6', owned_by: 'anthropic', categories: ['chat', 'coding', 'reasoning', 'vision'], billing_mode: 'paid', pricing: { input: 3, output: 15 }, context_window: 1_000_000, max_output: 128_000 },
  { id: 'bytedance/seedance-1.5-pro', object: 'model', name: 'Seedance 1.5 Pro', owned_by: 'bytedance', categories: ['video'], billing_mode: 'per_second', pricing: { per_second: 0.070783146, transaction_fee: 0.001, default_duration_seconds: 5, max_duration_seconds: 12 } },
  { id: 'elevenlabs/flash-v2.5', object: 'model', name: 'ElevenLabs Flash v2.5', owned_by: 'elevenlabs', categories: ['speech', 'tts'], billing_mode: 'per_character', pricing: { per_1k_chars: 0.0525, transaction_fee: 0.001 } },
]

/** `GET /v1/models`: the unified catalog, as the gateway's Base listing states it. */
export function catalogBody(fee: bigint) {
  const image = SANDBOX_MODELS.map((model) => {
    const sizes = Object.keys(model.prices)
    return {
      id: model.id,
      object: 'model',
      name: model.name,
      owned_by: model.provider,
      description: model.description,
      categories: ['image'],
      billing_mode: 'per_image',
      // The Base listing states one size-blind price per image, its margin in, with the fee beside it.
      pricing: { per_image: Number(sandboxPrice(model, sizes[0]!, 1)) / 1e6, transaction_fee: Number(fee) / 1e6 },
      supported_sizes: sizes,
      ...(model.maxPromptLength ? { max_prompt_length: model.maxPromptLength } : {}),
    }
  })
  return { object: 'list', data: [...OTHER_ENTRIES.slice(0, 1), ...image, ...OTHER_ENTRIES.slice(1)] }
}
