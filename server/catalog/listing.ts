/**
 * The body of our `GET /v1/models` (and what `list_image_models` shows): OpenAI's list shape with
 * the image models of the current view, where they come from and when, what each costs by size,
 * and which old names now run on which model.
 */
import { formatUsd } from '../money.js'
import { LEGACY_MODELS } from './bundled.js'
import type { CatalogSource, ModelEntry, Quality } from './model.js'
import { estimate } from './pricing.js'
import type { CatalogView } from './view.js'

export type ListedModel = {
  id: string
  object: 'model'
  name: string
  owned_by: string
  aliases: readonly string[]
  /** Which catalog the entry comes from: the live one, the bundled table, or both merged. */
  source: ModelEntry['source']
  sizes: readonly string[]
  default_size: string | null
  /** List price per image at the default size (before the gateway's margin and fee), or null when unknown. */
  price_usd: string | null
  price_base_units: string | null
  /** List price per image for each size tier. */
  prices_usd: Record<string, string>
  /** What one image at the default size is estimated to cost with the margin and the fee. */
  estimate_usd: string | null
  max_n: number
  max_prompt_chars: number
  edit: boolean
  mask: boolean
  max_input_images: number
  qualities: Quality[]
  best_for: string
}

export type ModelList = {
  object: 'list'
  source: { kind: 'live'; url: string; fetched_at: string; stale: boolean } | { kind: 'bundled'; as_of: string; reason: string }
  data: ListedModel[]
  /** Bundled models the live catalog no longer lists. */
  delisted: readonly string[]
  /** Old names that still work, and the model each now runs on. */
  substitutions: Record<string, { model: string; reason: string }>
}

export function listModels(view: CatalogView): ModelList {
  return {
    object: 'list',
    source: listedSource(view.source),
    data: view.models.map(listedModel),
    delisted: view.delisted,
    substitutions: Object.fromEntries(
      LEGACY_MODELS.flatMap((legacy) => {
        const found = view.find(legacy.id)
        return found ? legacy.names.map((name) => [name, { model: found.model.id, reason: legacy.why }] as const) : []
      }),
    ),
  }
}

function listedModel(model: ModelEntry): ListedModel {
  const size = model.sizes[0] ?? null
  const price = size ? model.prices[size] : undefined
  const oneImage = estimate(model, size ?? '', 1)
  return {
    id: model.id,
    object: 'model',
    name: model.name,
    owned_by: model.provider,
    aliases: model.aliases,
    source: model.source,
    sizes: model.sizes,
    default_size: size,
    price_usd: price === undefined ? (model.live && !model.live.marginIncluded ? formatUsd(model.live.perImage) : null) : formatUsd(price),
    price_base_units: price === undefined ? null : price.toString(),
    prices_usd: Object.fromEntries(Object.entries(model.prices).map(([s, p]) => [s, formatUsd(p)])),
    estimate_usd: oneImage ? formatUsd(oneImage.amount) : null,
    max_n: model.maxN,
    max_prompt_chars: model.maxPromptChars,
    edit: model.edit,
    mask: model.mask,
    max_input_images: model.maxInputImages,
    qualities: Object.keys(model.quality) as Quality[],
    best_for: model.bestFor,
  }
}

function listedSource(source: CatalogSource): ModelList['source'] {
  return source.kind === 'live'
    ? { kind: 'live', url: source.url, fetched_at: new Date(source.fetchedAt).toISOString(), stale: source.stale }
    : { kind: 'bundled', as_of: source.asOf, reason: source.reason }
}

/** One line for people: "live catalog from <url>, read 2026-…" or "bundled table (2026-08): <reason>". */
export function describeSource(source: ModelList['source']): string {
  return source.kind === 'live'
    ? `the gateway's live catalog (${source.url}), read ${source.fetched_at}${source.stale ? ', out of date: it could not be refreshed' : ''}`
    : `the bundled table (as of ${source.as_of}), because ${source.reason}`
}
