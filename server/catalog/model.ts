/**
 * What the pipeline knows about one image model, whichever source said it: the bundled table
 * (`bundled.ts`), the gateway's live `GET /v1/models` (`live.ts`), or both merged (`view.ts`).
 */

/**
 * `quality` values a request may name. The gateway's generation body takes the SDK's
 * `"standard" | "hd"` (@blockrun/llm `ImageGenerateOptions.quality`); OpenAI's own values are
 * accepted so that a model can map them (`ModelEntry.quality`) and so that a request naming them is
 * answered with "not applied" rather than refused.
 */
export const QUALITIES = ['standard', 'hd', 'low', 'medium', 'high', 'auto'] as const
export type Quality = (typeof QUALITIES)[number]

/** List prices per image by size (`WIDTHxHEIGHT`), USDC base units. */
export type PriceTable = Readonly<Record<string, bigint>>

export type ModelEntry = {
  /** Full id the gateway knows, e.g. `google/nano-banana`. */
  id: string
  /** Display name. */
  name: string
  /** Short names, first the one the skill uses. */
  aliases: readonly string[]
  provider: string
  /** Accepted sizes, the default first; empty when only the live catalog knows the model and it lists none. */
  sizes: readonly string[]
  /** List price per image by size (the gateway's size tiers), before its 5% margin and fee. */
  prices: PriceTable
  /** Most images per request. */
  maxN: number
  /** Longest prompt the model takes, in characters. */
  maxPromptChars: number
  /** Accepted by the image2image (edit) route. */
  edit: boolean
  /** Takes a mask on edits. */
  mask: boolean
  /** Most reference images one edit may carry (0 when the model cannot edit). */
  maxInputImages: number
  /** The `quality` value sent upstream for each value a request may name; a value not here is not applied. */
  quality: Readonly<Partial<Record<Quality, string>>>
  bestFor: string
  /** The price the live catalog states, when it states one (see `live.ts` on the margin). */
  live?: LivePrice | undefined
  /** Which catalog this entry comes from. */
  source: 'bundled' | 'live' | 'bundled+live'
}

/** A per-image price from the live catalog, base units. */
export type LivePrice = {
  perImage: bigint
  /** True when the figure already includes the gateway's 5% margin (its Base listing does). */
  marginIncluded: boolean
  /** The flat per-call fee the entry states, if it states one. */
  fee?: bigint | undefined
}

/** A name the old skill taught for a model the gateway no longer has, and what runs instead. */
export type LegacyModel = {
  /** The old full id. */
  id: string
  /** Every name that meant it (aliases and the id). */
  names: readonly string[]
  /** The model that runs instead. */
  successor: string
  /** The sizes the old model took: asked of the successor, they map to its nearest size. */
  sizes: readonly string[]
  /** Why, in a sentence that completes "…: ". */
  why: string
}

/** A request that named a legacy model. */
export type Substitution = { requested: string; legacy: LegacyModel }

/** A name found in the catalog: the model that runs, and the substitution when the name was a legacy one. */
export type ModelMatch = { model: ModelEntry; substitution?: Substitution | undefined }

/** Where the models of a view come from. */
export type CatalogSource =
  | { kind: 'live'; url: string; fetchedAt: number; stale: boolean }
  | { kind: 'bundled'; asOf: string; reason: string }
