/**
 * Turns a validated request into what the pipeline runs: a catalog entry, a size the model takes,
 * a count within the model's limit, the quality value the gateway takes, an estimate, and notes
 * for everything changed or not applied (a legacy name's substitute, an aspect ratio's size, a
 * setting the model cannot honour). Every refusal here happens before any upstream call.
 */
import { bundledCatalog, chooseSize, DEFAULT_EDIT_MODEL, DEFAULT_SIZE, estimate, matchesRatio, normaliseSize, ratioLabel } from './catalog/index.js'
import type { CatalogView, Estimate, ModelEntry, ModelMatch, Quality, Substitution } from './catalog/index.js'
import { invalidRequest } from './errors.js'

export type ResolvedJob = {
  model: ModelEntry
  /** The model name as the request gave it (or the default's), which may be an alias or a legacy name. */
  requestedModel: string
  substitution?: Substitution | undefined
  size: string
  n: number
  prompt: string
  /** The `quality` sent upstream, when the model takes the one asked for. */
  quality?: string | undefined
  /** What the catalog expects the gateway to ask; undefined when no source prices the model. */
  estimate: Estimate | undefined
  /** Substitutions, size choices and settings not applied, in words; later steps add theirs. */
  notes: string[]
}

export type ResolveParameters = {
  prompt: string
  model?: string | undefined
  size?: string | undefined
  aspect_ratio?: string | undefined
  n?: number | undefined
  quality?: Quality | undefined
  /** The model to use when the request names none. */
  defaultModel: string
  /** Edits accept only models with `edit: true` (what an edit may carry is edit-rules.ts's). */
  forEdit?: boolean
  /** Fields of the request the gateway has no use for, reported as not applied. */
  unsupported?: readonly string[]
}

export function resolveJob(parameters: ResolveParameters, view: CatalogView): ResolvedJob {
  const { prompt, forEdit } = parameters
  const requestedModel = parameters.model ?? (forEdit ? DEFAULT_EDIT_MODEL : parameters.defaultModel)
  const match = view.find(requestedModel)
  if (!match) throw unknownModel(requestedModel, view)
  const { model, substitution } = match
  const notes: string[] = []
  if (substitution) notes.push(`"${substitution.requested}" ran on ${model.id}: ${substitution.legacy.why}.`)

  if (forEdit && !model.edit) {
    const editors = view.models.filter((m) => m.edit).map((m) => m.id).join(', ')
    const what = substitution ? `"${substitution.requested}" now means ${model.id}, which` : model.id
    throw invalidRequest(`${what} cannot edit images; models that edit: ${editors}.`, 'model', 'model_cannot_edit')
  }
  const size = resolveSize(match, parameters, notes)
  const n = parameters.n ?? 1
  if (n > model.maxN) {
    throw invalidRequest(`${model.id} makes at most ${model.maxN} image${model.maxN === 1 ? '' : 's'} per request (n = ${n} was asked); make several requests for more.`, 'n', 'invalid_n')
  }
  if (prompt.length > model.maxPromptChars) {
    throw invalidRequest(`The prompt is longer than ${model.id} takes (${model.maxPromptChars} characters).`, 'prompt', 'prompt_too_long')
  }
  const quality = resolveQuality(model, parameters, notes)
  for (const field of parameters.unsupported ?? []) notes.push(`${field} was not applied: the gateway takes no ${field} setting.`)
  const cost = estimate(model, size, n)
  if (!cost) notes.push(`The catalog has no price for ${model.id}; what the gateway asks is what is paid, within your limits.`)
  return { model, requestedModel, substitution, size, n, prompt, quality, estimate: cost, notes }
}

/**
 * The size asked, when the model takes it; for a legacy name, one of the old model's sizes maps
 * to the successor's nearest. A size the model does not take is refused with the list it takes;
 * when the catalog does not know the model's sizes, the gateway decides. An aspect ratio maps to
 * the nearest size the model takes.
 */
function resolveSize({ model, substitution }: ModelMatch, { size: asked, aspect_ratio: aspectRatio }: ResolveParameters, notes: string[]): string {
  // OpenAI's `auto` (its default for the gpt-image models): the model's own default size, or the
  // size an aspect ratio given beside it picks.
  const auto = asked === 'auto'
  const size = auto ? undefined : asked
  if (auto && aspectRatio === undefined) {
    const chosen = defaultSize(model)
    notes.push(`size auto → ${chosen}, the default size of ${model.id}.`)
    return chosen
  }
  if (size !== undefined) {
    const asked = normaliseSize(size)
    if (aspectRatio !== undefined && !matchesRatio(asked, aspectRatio)) notes.push(`aspect_ratio ${aspectRatio} was not applied: the size given (${asked}) decides.`)
    if (model.sizes.length === 0 || model.sizes.includes(asked)) return asked
    if (substitution?.legacy.sizes.includes(asked)) {
      const mapped = chooseSize(model, { size: asked })!
      notes.push(`${model.id} does not make ${asked}, a size ${substitution.legacy.id} took; it made ${mapped}, the nearest size it takes.`)
      return mapped
    }
    throw invalidRequest(`${model.id} does not take size ${asked}. Sizes it accepts: ${model.sizes.join(', ')}.`, 'size', 'invalid_size')
  }
  if (aspectRatio !== undefined) {
    const chosen = chooseSize(model, { aspectRatio })
    if (!chosen) {
      notes.push(`aspect_ratio ${aspectRatio} was not applied: the catalog does not know which sizes ${model.id} takes, so the gateway was asked for ${DEFAULT_SIZE}.`)
      return DEFAULT_SIZE
    }
    const shape = aspectRatio.trim().toLowerCase()
    const how = matchesRatio(chosen, aspectRatio)
      ? ''
      : shape === 'portrait' || shape === 'landscape'
        ? `: ${model.id} has no ${shape} size, so this is its nearest`
        : `, the nearest shape ${model.id} takes`
    notes.push(`aspect_ratio ${aspectRatio} → ${chosen} (${ratioLabel(chosen)})${how}.`)
    return chosen
  }
  return defaultSize(model)
}

/** The size a request that names none gets: 1024x1024 where the model takes it, else its first size. */
function defaultSize(model: ModelEntry): string {
  return model.sizes.includes(DEFAULT_SIZE) || model.sizes.length === 0 ? DEFAULT_SIZE : model.sizes[0]!
}

/**
 * OpenAI's gpt-image qualities on a model that takes the `standard`/`hd` pair (OpenAI's dall-e-3
 * tiers, which BlockRun's SDK sends): low and medium are its standard, high its hd.
 */
const OPENAI_QUALITY_TIERS: Partial<Record<Quality, Quality>> = { low: 'standard', medium: 'standard', high: 'hd' }

/** The `quality` value to send, when the model takes it; otherwise a note says it was not applied. */
function resolveQuality(model: ModelEntry, { quality, forEdit }: ResolveParameters, notes: string[]): string | undefined {
  // `auto` asks for the model's own choice, which is what sending no quality gets.
  if (quality === undefined || quality === 'auto') return undefined
  if (forEdit) {
    notes.push(`quality ${quality} was not applied: the gateway's edit route takes no quality setting.`)
    return undefined
  }
  const sent = model.quality[quality]
  if (sent !== undefined) return sent
  const taken = [...new Set(Object.values(model.quality))]
  const tier = OPENAI_QUALITY_TIERS[quality]
  const mapped = tier === undefined ? undefined : model.quality[tier]
  if (mapped !== undefined) {
    notes.push(`quality ${quality} → ${mapped}: ${model.id} takes quality ${taken.join(' or ')}.`)
    return mapped
  }
  notes.push(`quality ${quality} was not applied: ${model.id} ${taken.length ? `takes quality ${taken.join(' or ')}` : 'takes no quality setting'}.`)
  return undefined
}

function unknownModel(name: string, view: CatalogView) {
  const known = view.models.map((m) => (m.aliases[0] ? `${m.id} (${m.aliases[0]})` : m.id)).join(', ')
  const source = view.source
  const delisted = source.kind === 'live' ? bundledCatalog().find(name) : undefined
  const message =
    delisted && source.kind === 'live'
      ? `${delisted.model.id} is no longer in the gateway's model catalog (read ${new Date(source.fetchedAt).toISOString()}). Available models: ${known}.`
      : `Unknown model "${name}". Available models: ${known}.`
  return invalidRequest(message, 'model', 'model_not_found')
}
