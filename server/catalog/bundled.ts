/**
 * The bundled model table: BlockRun's image models as its own public clients describe the gateway
 * in 2026-08. It is the offline fallback, and it supplies what the live catalog does not say (size
 * tiers, edit and mask rules, reference-image limits, aliases). Only `index.ts` reads it.
 *
 * Sources (facts only):
 * - prices per size: ClawRouter `src/proxy.ts` IMAGE_PRICING ("must match server's IMAGE_MODELS"),
 *   Franklin `src/content/image-pricing.ts` ("mirrors the gateway's IMAGE_MODELS.sizes");
 * - sizes: Franklin `src/tools/imagegen.ts` IMAGE_MODEL_SIZES (the gateway's table), ClawRouter's
 *   IMAGE_PRICING and skill where Franklin is silent (seedream, cogview, grok);
 * - edit, mask, reference images: Franklin EDIT_SUPPORTED_MODELS, MASK_SUPPORTED_MODELS and
 *   MAX_IMAGES_BY_PREFIX (OpenAI 4, Google 3), mirroring the gateway's image2image route, and the
 *   SDK's `ImageClient.edit` doc. Where ClawRouter's skill text disagrees ("only gpt-image-1
 *   edits", sizes such as 1216x832 for nano-banana), the gateway's tables win;
 * - at most 4 images per request: ClawRouter's image tool ("max 4"), Franklin MAX_OUTPUT_IMAGES;
 * - aliases: ClawRouter `src/models.ts` and `/cr-imagegen`.
 */
import type { LegacyModel, ModelEntry } from './model.js'

/** When these facts were gathered. */
export const BUNDLED_AS_OF = '2026-08'

const OPENAI_SIZES = ['1024x1024', '1536x1024', '1024x1536']
/** OpenAI documents 32,000 characters for gpt-image prompts; no public source gives the others' limit. */
const LONG_PROMPT = 32_000

type BundledModel = Omit<ModelEntry, 'live' | 'source'>

const common = { maxN: 4, quality: {} } as const

export const BUNDLED_MODELS: readonly BundledModel[] = [
  {
    ...common,
    id: 'google/nano-banana',
    name: 'Nano Banana',
    aliases: ['nano-banana', 'banana'],
    provider: 'google',
    sizes: ['1024x1024'],
    prices: { '1024x1024': 50_000n },
    maxPromptChars: 8000,
    edit: true,
    mask: false,
    maxInputImages: 3,
    bestFor: 'The default: fast, good quality; edits and blends images',
  },
  {
    ...common,
    id: 'google/nano-banana-2',
    name: 'Nano Banana 2',
    aliases: ['nano-banana-2', 'banana-2'],
    provider: 'google',
    sizes: ['1024x1024'],
    prices: { '1024x1024': 90_000n },
    maxPromptChars: 8000,
    edit: false,
    mask: false,
    maxInputImages: 0,
    bestFor: 'Pro-level quality at Flash speed (Gemini 3.1 Flash)',
  },
  {
    ...common,
    id: 'google/nano-banana-pro',
    name: 'Nano Banana Pro',
    aliases: ['banana-pro', 'nano-banana-pro'],
    provider: 'google',
    sizes: ['1024x1024', '2048x2048', '4096x4096'],
    prices: { '1024x1024': 100_000n, '2048x2048': 100_000n, '4096x4096': 150_000n },
    maxPromptChars: 8000,
    edit: true,
    mask: false,
    maxInputImages: 3,
    bestFor: 'Highest quality and resolution, up to 4096x4096 (square sizes only)',
  },
  {
    ...common,
    id: 'openai/gpt-image-1',
    name: 'GPT Image 1',
    aliases: ['gpt-image', 'gpt-image-1'],
    provider: 'openai',
    sizes: OPENAI_SIZES,
    prices: { '1024x1024': 20_000n, '1536x1024': 40_000n, '1024x1536': 40_000n },
    maxPromptChars: LONG_PROMPT,
    edit: true,
    mask: true,
    maxInputImages: 4,
    bestFor: 'Cheap generations, and the cheapest edits (masks too)',
  },
  {
    ...common,
    id: 'openai/gpt-image-2',
    name: 'GPT Image 2',
    aliases: ['gpt-image-2'],
    provider: 'openai',
    sizes: OPENAI_SIZES,
    prices: { '1024x1024': 60_000n, '1536x1024': 120_000n, '1024x1536': 120_000n },
    maxPromptChars: LONG_PROMPT,
    edit: true,
    mask: true,
    maxInputImages: 4,
    bestFor: 'Photorealism, complex scenes, text in images (slow: a minute or more)',
  },
  {
    ...common,
    id: 'bytedance/seedream-5-pro',
    name: 'Seedream 5.0 Pro',
    aliases: ['seedream', 'seedream-5-pro'],
    provider: 'bytedance',
    // ClawRouter prices 1024x1024 and 2048x1024 at $0.045 and 2048x2048 at $0.09 ("2K-class"), and
    // says "up to 2848x1600 / 2304x1728": those two are priced as the 2K class.
    sizes: ['1024x1024', '2048x1024', '2048x2048', '2304x1728', '2848x1600'],
    prices: { '1024x1024': 45_000n, '2048x1024': 45_000n, '2048x2048': 90_000n, '2304x1728': 90_000n, '2848x1600': 90_000n },
    maxPromptChars: LONG_PROMPT,
    edit: false,
    mask: false,
    maxInputImages: 0,
    bestFor: 'Flagship quality in large landscape formats',
  },
  {
    ...common,
    id: 'xai/grok-imagine-image',
    name: 'Grok Imagine',
    aliases: ['grok-imagine', 'grok-imagine-image'],
    provider: 'xai',
    sizes: ['1024x1024'],
    prices: { '1024x1024': 20_000n },
    maxPromptChars: LONG_PROMPT,
    edit: false,
    mask: false,
    maxInputImages: 0,
    bestFor: 'Artistic, stylised images; fewer content restrictions',
  },
  {
    ...common,
    id: 'xai/grok-imagine-image-pro',
    name: 'Grok Imagine Pro',
    aliases: ['grok-imagine-pro', 'grok-imagine-image-pro'],
    provider: 'xai',
    sizes: ['1024x1024'],
    prices: { '1024x1024': 70_000n },
    maxPromptChars: LONG_PROMPT,
    edit: false,
    mask: false,
    maxInputImages: 0,
    bestFor: "Grok's quality tier (slow)",
  },
  {
    ...common,
    id: 'zai/cogview-4',
    name: 'CogView-4',
    aliases: ['cogview', 'cogview-4'],
    provider: 'zai',
    sizes: ['1024x1024', '512x512', '768x768', '768x1344', '1344x768', '1440x1440'],
    prices: { '1024x1024': 15_000n, '512x512': 15_000n, '768x768': 15_000n, '768x1344': 15_000n, '1344x768': 15_000n, '1440x1440': 20_000n },
    maxPromptChars: LONG_PROMPT,
    edit: false,
    mask: false,
    maxInputImages: 0,
    // Zhipu's CogView-4 API takes quality "standard" | "hd", the SDK's own values. No source shows
    // the gateway mapping them for another model: OpenAI's gpt-image models take low|medium|high|auto.
    quality: { standard: 'standard', hd: 'hd' },
    bestFor: 'Cheapest; portrait and landscape sizes',
  },
]

/**
 * Names the old skill taught for models the gateway no longer serves. They keep working, on the
 * model BlockRun's own clients moved them to, and every answer says so.
 */
export const LEGACY_MODELS: readonly LegacyModel[] = [
  {
    id: 'openai/dall-e-3',
    names: ['openai/dall-e-3', 'dall-e-3', 'dall-e', 'dalle', 'dalle-3', 'dalle3'],
    successor: 'openai/gpt-image-2',
    sizes: ['1024x1024', '1792x1024', '1024x1792'],
    // ClawRouter CHANGELOG: the gateway answers 400 "Delisted 2026-05-25: OpenAI removed dall-e-3
    // from the API"; its aliases now route to openai/gpt-image-2.
    why: 'the gateway delisted dall-e-3 on 2026-05-25 (OpenAI removed it from its API); gpt-image-2 is its OpenAI successor',
  },
  {
    id: 'black-forest/flux-1.1-pro',
    names: ['black-forest/flux-1.1-pro', 'flux', 'flux-1.1-pro', 'flux-pro'],
    successor: 'xai/grok-imagine-image',
    sizes: ['1024x1024', '1216x832', '832x1216'],
    // ClawRouter CHANGELOG: flux "has no gateway entry at all"; its skill sends "artistic /
    // flexible content" to grok-imagine.
    why: 'the gateway has no flux model; grok-imagine is where BlockRun now sends "artistic" requests',
  },
]

export const DEFAULT_MODEL = 'google/nano-banana'
/** The cheapest model that edits. */
export const DEFAULT_EDIT_MODEL = 'openai/gpt-image-1'
/** What the SDK sends when no size is given, and what every bundled model takes. */
export const DEFAULT_SIZE = '1024x1024'
