/**
 * One view of the catalog: the bundled table alone, or merged with a live snapshot. The live
 * catalog decides which models exist and their sizes; the bundled table supplies what it lacks
 * (size tiers, edit and mask rules, reference-image limits, aliases). A bundled model the live
 * catalog does not list is delisted: it is no longer offered. A model only the live catalog knows
 * is offered with conservative defaults (it cannot edit; its sizes are the ones it lists, if any).
 */
import { BUNDLED_AS_OF, BUNDLED_MODELS, DEFAULT_SIZE, LEGACY_MODELS } from './bundled.js'
import type { LiveModel, LiveSnapshot } from './live.js'
import type { CatalogSource, ModelEntry, ModelMatch } from './model.js'

export type CatalogView = {
  readonly models: readonly ModelEntry[]
  readonly source: CatalogSource
  /** A model by full id, alias or legacy name (case-insensitive); undefined when this view has none. */
  find(name: string): ModelMatch | undefined
  /** Bundled models the live catalog no longer lists (empty for the bundled view). */
  readonly delisted: readonly string[]
}

/** Images per request for a model only the live catalog knows (the gateway's cap as its clients state it). */
const LIVE_ONLY_MAX_N = 4
/** Prompt limit for a model only the live catalog knows, when it states none. */
const LIVE_ONLY_MAX_PROMPT = 32_000

export function bundledView(reason = 'the live catalog has not been read'): CatalogView {
  const models = BUNDLED_MODELS.map((model): ModelEntry => ({ ...model, source: 'bundled' }))
  return makeView(models, { kind: 'bundled', asOf: BUNDLED_AS_OF, reason }, [])
}

export function liveView(snapshot: LiveSnapshot, stale: boolean): CatalogView {
  const bundled = new Map(BUNDLED_MODELS.map((model) => [model.id, model]))
  const listed = new Set(snapshot.models.map((model) => model.id))
  const merged: ModelEntry[] = []
  // Bundled order first (the skill's order), then what only the live catalog has, in its order.
  for (const model of BUNDLED_MODELS) {
    const live = snapshot.models.find((m) => m.id === model.id)
    if (live) merged.push(mergeEntry(model, live))
  }
  for (const live of snapshot.models) if (!bundled.has(live.id)) merged.push(liveOnlyEntry(live))
  const delisted = BUNDLED_MODELS.filter((model) => !listed.has(model.id)).map((model) => model.id)
  return makeView(merged, { kind: 'live', url: snapshot.url, fetchedAt: snapshot.fetchedAt, stale }, delisted)
}

function mergeEntry(model: (typeof BUNDLED_MODELS)[number], live: LiveModel): ModelEntry {
  return {
    ...model,
    sizes: live.sizes?.length ? orderSizes(live.sizes, model.sizes[0]) : model.sizes,
    maxPromptChars: live.maxPromptChars ?? model.maxPromptChars,
    live: live.price,
    source: 'bundled+live',
  }
}

function liveOnlyEntry(live: LiveModel): ModelEntry {
  return {
    id: live.id,
    name: live.name ?? live.id,
    aliases: [],
    provider: live.provider ?? live.id.split('/')[0]!,
    sizes: live.sizes?.length ? orderSizes(live.sizes, DEFAULT_SIZE) : [],
    prices: {},
    maxN: LIVE_ONLY_MAX_N,
    maxPromptChars: live.maxPromptChars ?? LIVE_ONLY_MAX_PROMPT,
    // Which models edit is the gateway's own fixed list (its image2image route); a new entry is not assumed to be on it.
    edit: false,
    mask: false,
    maxInputImages: 0,
    quality: {},
    bestFor: live.description ?? 'Listed by the gateway; not in the bundled table',
    live: live.price,
    source: 'live',
  }
}

/** The sizes with `preferred` first when it is one of them, so the default stays the default. */
function orderSizes(sizes: readonly string[], preferred: string | undefined): string[] {
  return preferred && sizes.includes(preferred) ? [preferred, ...sizes.filter((s) => s !== preferred)] : [...sizes]
}

function makeView(models: readonly ModelEntry[], source: CatalogSource, delisted: readonly string[]): CatalogView {
  const byName = new Map<string, ModelMatch>()
  // Legacy names first, so a model the catalog really lists under such a name (the gateway
  // listing dall-e-3 again, say) wins over the substitution.
  for (const legacy of LEGACY_MODELS) {
    const successor = models.find((m) => m.id === legacy.successor)
    if (successor) for (const name of legacy.names) byName.set(name.toLowerCase(), { model: successor, substitution: { requested: name, legacy } })
  }
  for (const model of models) {
    byName.set(model.id.toLowerCase(), { model })
    for (const alias of model.aliases) byName.set(alias.toLowerCase(), { model })
  }
  return {
    models,
    source,
    delisted,
    find(name) {
      const key = name.trim().toLowerCase()
      const match = byName.get(key)
      // The substitution names what the caller wrote, not the table's spelling.
      return match?.substitution ? { ...match, substitution: { ...match.substitution, requested: name.trim() } } : match
    },
  }
}
