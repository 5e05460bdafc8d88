/**
 * The model table, as data. Prices are BlockRun's list prices per image in USDC base units: an
 * estimate for the policy check and for display. What is paid is what the upstream's 402 asks,
 * checked against the spend policy.
 */
import { formatUsd } from './money.js'

export type ModelEntry = {
  /** Full id the upstream knows, e.g. `google/nano-banana`. */
  id: string
  /** Short names from the skill table. */
  aliases: readonly string[]
  provider: string
  /** List price per image, USDC base units. */
  price: bigint
  /** Accepted sizes, `WIDTHxHEIGHT`; the first is the default. */
  sizes: readonly string[]
  /** Most images per request. */
  maxN: number
  /** Longest prompt the model takes, in characters. */
  maxPromptChars: number
  /** Accepted by the image2image (edit) route. */
  edit: boolean
  /** Takes a `mask` with an edit (the gateway's MASK_SUPPORTED_MODELS: OpenAI models). */
  mask: boolean
  /** Most reference images one edit may carry (the gateway's per-provider caps); 0 when it cannot edit. */
  maxInputImages: number
  bestFor: string
}

export const MODELS: readonly ModelEntry[] = [
  {
    id: 'google/nano-banana',
    aliases: ['nano-banana'],
    provider: 'google',
    price: 50_000n,
    sizes: ['1024x1024', '1216x832', '1024x1792'],
    maxN: 4,
    maxPromptChars: 8000,
    edit: true,
    mask: false,
    maxInputImages: 3,
    bestFor: 'Default: fast, cheap, good quality',
  },
  {
    id: 'google/nano-banana-pro',
    aliases: ['banana-pro', 'nano-banana-pro'],
    provider: 'google',
    price: 100_000n,
    sizes: ['1024x1024', '1216x832', '832x1216', '1024x1792', '1792x1024', '2048x2048', '4096x4096'],
    maxN: 4,
    maxPromptChars: 8000,
    edit: true,
    mask: false,
    maxInputImages: 3,
    bestFor: 'High resolution, large format (up to 4096x4096)',
  },
  {
    id: 'openai/dall-e-3',
    aliases: ['dall-e-3', 'dalle-3', 'dall-e'],
    provider: 'openai',
    price: 40_000n,
    sizes: ['1024x1024', '1792x1024', '1024x1792'],
    maxN: 1,
    maxPromptChars: 4000,
    edit: false,
    mask: false,
    maxInputImages: 0,
    bestFor: 'Photorealistic, complex scenes (OpenAI content policy applies)',
  },
  {
    id: 'openai/gpt-image-1',
    aliases: ['gpt-image', 'gpt-image-1'],
    provider: 'openai',
    price: 20_000n,
    sizes: ['1024x1024', '1536x1024', '1024x1536'],
    maxN: 4,
    maxPromptChars: 32000,
    edit: true,
    mask: true,
    maxInputImages: 4,
    bestFor: 'Budget option; the cheapest model that edits images',
  },
  {
    id: 'openai/gpt-image-2',
    aliases: ['gpt-image-2'],
    provider: 'openai',
    price: 60_000n,
    sizes: ['1024x1024', '1536x1024', '1024x1536'],
    maxN: 4,
    maxPromptChars: 32000,
    edit: true,
    mask: true,
    maxInputImages: 4,
    bestFor: "OpenAI's newest image model: best text rendering and instruction following",
  },
  {
    id: 'black-forest/flux-1.1-pro',
    aliases: ['flux', 'flux-1.1-pro'],
    provider: 'black-forest',
    price: 40_000n,
    sizes: ['1024x1024', '1216x832', '832x1216'],
    maxN: 4,
    maxPromptChars: 4000,
    edit: false,
    mask: false,
    maxInputImages: 0,
    bestFor: 'Artistic styles, fewer content restrictions',
  },
]

export const DEFAULT_MODEL = 'google/nano-banana'
export const DEFAULT_EDIT_MODEL = 'openai/gpt-image-1'
export const DEFAULT_SIZE = '1024x1024'

const byName = new Map<string, ModelEntry>()
for (const model of MODELS) {
  byName.set(model.id, model)
  for (const alias of model.aliases) byName.set(alias, model)
}

/** Finds a model by full id or alias, case-insensitively. */
export function findModel(name: string): ModelEntry | undefined {
  return byName.get(name.trim().toLowerCase())
}

export function modelNames(): string[] {
  return MODELS.flatMap((m) => [m.id, ...m.aliases])
}

/** The catalog estimate for `n` images, base units. */
export function estimatePrice(model: ModelEntry, n: number): bigint {
  return model.price * BigInt(n)
}

export function parseSize(size: string): { width: number; height: number } {
  const [w, h] = size.split('x').map(Number)
  return { width: w!, height: h! }
}

/** The shape `GET /v1/models` answers with (OpenAI list shape, plus our fields). */
export function listModels() {
  return {
    object: 'list' as const,
    data: MODELS.map((m) => ({
      id: m.id,
      object: 'model' as const,
      owned_by: m.provider,
      aliases: m.aliases,
      price_usd: formatUsd(m.price),
      price_base_units: m.price.toString(),
      sizes: m.sizes,
      max_n: m.maxN,
      edit: m.edit,
      mask: m.mask,
      max_input_images: m.maxInputImages,
      best_for: m.bestFor,
    })),
  }
}
