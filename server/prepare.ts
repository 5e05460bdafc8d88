/**
 * A validated request made ready to pay: the model, size and n the catalog allows (resolve.ts),
 * edit inputs read and checked (server/inputs/), and the body the gateway takes. Every refusal
 * here comes before any upstream call; a quote and a paid call prepare alike.
 */
import type { Catalog } from './catalog/index.js'
import { DEFAULT_EDIT_MODEL } from './catalog/index.js'
import { checkEditRules } from './edit-rules.js'
import { ImagegenError } from './errors.js'
import type { InputResolver } from './inputs/resolve.js'
import { resolveJob, type ResolvedJob } from './resolve.js'
import { unsupportedFields, type EditRequest, type GenerateRequest } from './schemas.js'
import type { UpstreamRoute } from './upstream/blockrun.js'

/** A request ready to pay: the upstream route and body, what the catalog made of it, and an edit's inputs. */
export type Prepared = { route: UpstreamRoute; body: object; job: ResolvedJob; inputs?: number; mask?: boolean }

export type PrepareContext = {
  catalog: Catalog
  defaultModel: string
  /** Resolves edit inputs; without it, edits are refused. */
  inputs: InputResolver | undefined
  /** The proxy's own base URL: its /images URLs are read from the store. */
  ownBaseUrl: string
}

export async function prepareGenerate(request: Omit<GenerateRequest, 'max_price' | 'idempotency_key'>, { catalog, defaultModel }: PrepareContext): Promise<Prepared> {
  const view = await catalog.lookup(request.model ?? defaultModel)
  const job = resolveJob({ ...request, defaultModel: defaultModel, unsupported: unsupportedFields(request) }, view)
  const body = { model: job.model.id, prompt: job.prompt, size: job.size, n: job.n, ...(job.quality ? { quality: job.quality } : {}) }
  return { route: '/v1/images/generations', body, job }
}

export async function prepareEdit(request: Omit<EditRequest, 'max_price' | 'idempotency_key'>, { catalog, defaultModel, inputs: resolver, ownBaseUrl, signal }: PrepareContext & { signal: AbortSignal | undefined }): Promise<Prepared> {
  const view = await catalog.lookup(request.model ?? DEFAULT_EDIT_MODEL)
  const job = resolveJob({ ...request, defaultModel: defaultModel, forEdit: true, unsupported: unsupportedFields(request) }, view)
  const images = typeof request.image === 'string' ? [request.image] : request.image
  // How many images and whether a mask, on this model: refused before any input is read.
  checkEditRules(job.model, { images: images.length, mask: request.mask !== undefined }, view.models)
  if (!resolver) throw new ImagegenError({ status: 501, type: 'server_error', message: 'Editing is not available in this process.' })
  // Inputs are resolved and checked before anything is paid; our own /images URLs are read from the store.
  const inputs = await resolver.resolve({ images, mask: request.mask, signal, ownBaseUrl })
  job.notes.push(...inputs.notes)
  // One image goes as a string, several as an array (the gateway's image2image shape, as Franklin sends it).
  const image = inputs.images.length === 1 ? inputs.images[0] : inputs.images
  const body = { model: job.model.id, prompt: job.prompt, size: job.size, n: job.n, image, ...(inputs.mask ? { mask: inputs.mask } : {}) }
  return { route: '/v1/images/image2image', body, job, inputs: images.length, mask: request.mask !== undefined }
}
