/**
 * Turns a validated request into what the pipeline runs: a catalog entry, a size the model takes,
 * a count within the model's limit. Every refusal here happens before any upstream call.
 */
import { DEFAULT_EDIT_MODEL, DEFAULT_SIZE, findModel, MODELS, type ModelEntry } from './catalog.js'
import { invalidRequest } from './errors.js'

export type ResolvedJob = {
  model: ModelEntry
  size: string
  n: number
  prompt: string
  /** What ran differently from what was asked (an input downscaled...), for the caller to see. */
  notes: string[]
}

export type ResolveParameters = {
  prompt: string
  model?: string | undefined
  size?: string | undefined
  n?: number | undefined
  /** The model to use when the request names none. */
  defaultModel: string
  /** Edits accept only models with `edit: true`. */
  forEdit?: boolean
}

export function resolveJob({ prompt, model, size, n, defaultModel, forEdit }: ResolveParameters): ResolvedJob {
  const name = model ?? (forEdit ? DEFAULT_EDIT_MODEL : defaultModel)
  const entry = findModel(name)
  if (!entry) {
    const known = MODELS.map((m) => `${m.id} (${m.aliases[0]})`).join(', ')
    throw invalidRequest(`Unknown model "${name}". Available models: ${known}.`, 'model', 'model_not_found')
  }
  if (forEdit && !entry.edit) {
    const editors = MODELS.filter((m) => m.edit).map((m) => m.id).join(', ')
    throw invalidRequest(`${entry.id} cannot edit images; use ${editors}.`, 'model', 'model_cannot_edit')
  }
  const chosenSize = size ?? (entry.sizes.includes(DEFAULT_SIZE) ? DEFAULT_SIZE : entry.sizes[0]!)
  if (!entry.sizes.includes(chosenSize)) {
    throw invalidRequest(
      `${entry.id} does not take size ${chosenSize}. Sizes it accepts: ${entry.sizes.join(', ')}.`,
      'size',
      'invalid_size',
    )
  }
  const count = n ?? 1
  if (count > entry.maxN) {
    throw invalidRequest(`${entry.id} makes at most ${entry.maxN} image${entry.maxN === 1 ? '' : 's'} per request.`, 'n', 'invalid_n')
  }
  if (prompt.length > entry.maxPromptChars) {
    throw invalidRequest(`The prompt is longer than ${entry.id} takes (${entry.maxPromptChars} characters).`, 'prompt', 'prompt_too_long')
  }
  return { model: entry, size: chosenSize, n: count, prompt, notes: [] }
}
