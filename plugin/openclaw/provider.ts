/**
 * The image generation provider "imagegen": OpenClaw's own `image_generate` tool and
 * `openclaw infer image generate|edit --model imagegen/<model>` run through the BlockRun wallet.
 *
 * Requests go through the same core as the tools (the service's proxy, or in-process under
 * `openclaw infer`), so they pass the same spend policy and land in the same ledger. The stored
 * file is read back and handed to OpenClaw, which writes its own copy where it was asked to.
 */
import { readFile } from 'node:fs/promises'
import { DEFAULT_EDIT_MODEL, DEFAULT_MODEL, findModel, MODELS } from '../../server/catalog.js'
import type { ImageResult } from '../../server/service.js'
import { chooseSize, normaliseSize } from './geometry.js'
import type { GeneratedImage, ImageGenerationProvider, ImageGenerationRequest } from './host.js'
import type { CoreAccess } from './runtime.js'

export const PROVIDER_ID = 'imagegen'

/**
 * High-quality generations take 60–180 s; OpenClaw's default would cut them off. The provider's
 * timeout follows the configured upstream deadline (timeoutSeconds), plus a margin so the core's
 * own timeout, with its clearer message, fires first (as in plugin/mcp.ts).
 */
const TIMEOUT_MARGIN_MS = 30_000
/** When the settings did not load (the call then reports the config error anyway). */
const FALLBACK_UPSTREAM_TIMEOUT_MS = 300_000

/** How long one provider call may take, from the plugin settings. */
export function providerTimeoutMs(access: CoreAccess): number {
  return (access.loaded.ok ? access.loaded.settings.upstreamTimeoutMs : FALLBACK_UPSTREAM_TIMEOUT_MS) + TIMEOUT_MARGIN_MS
}

export function imageGenerationProvider(access: CoreAccess): ImageGenerationProvider {
  const editModels = MODELS.filter((m) => m.edit)
  return {
    id: PROVIDER_ID,
    label: 'BlockRun images (paid from your x402 wallet)',
    defaultModel: access.loaded.ok ? access.loaded.settings.defaultModel : DEFAULT_MODEL,
    defaultTimeoutMs: providerTimeoutMs(access),
    models: MODELS.map((m) => m.id),
    capabilities: {
      generate: { maxCount: Math.max(...MODELS.map((m) => m.maxN)), supportsSize: true, supportsAspectRatio: true, supportsResolution: true },
      edit: {
        enabled: true,
        maxCount: Math.max(...editModels.map((m) => m.maxN)),
        maxInputImages: Math.max(...editModels.map((m) => m.maxInputImages)),
        // A model that cannot edit has no entry: an edit asked of it runs on the default edit model.
        maxInputImagesByModel: Object.fromEntries(editModels.map((m) => [m.id, m.maxInputImages])),
        supportsSize: true,
        supportsAspectRatio: true,
      },
      geometry: {
        sizesByModel: Object.fromEntries(MODELS.map((m) => [m.id, [...m.sizes]])),
        resolutionsByModel: { 'google/nano-banana-pro': ['1K', '2K', '4K'] },
      },
    },
    // The wallet is created on first use, so there is nothing to set up before the first call;
    // an unfunded wallet is reported by the call itself, with the address to fund.
    isConfigured: () => true,
    generateImage: (request) => generate(access, request),
  }
}

async function generate(access: CoreAccess, request: ImageGenerationRequest): Promise<{ images: GeneratedImage[]; model: string; metadata: Record<string, unknown> }> {
  const notes: string[] = []
  const asked = findModel(request.model)
  if (!asked) throw new Error(`imagegen: unknown model "${request.model}". Models: ${MODELS.map((m) => m.id).join(', ')}.`)
  const inputs = request.inputImages ?? []
  const editing = inputs.length > 0
  let model = asked
  if (editing && !model.edit) {
    // Use the default edit model (the cheapest) rather than fail an edit that arrived with a
    // generation-only model, such as the provider's default.
    model = findModel(DEFAULT_EDIT_MODEL)!
    notes.push(`${asked.id} cannot edit images; the edit ran on ${model.id}.`)
  }
  // More input images than the model takes is refused by the core before paying, naming the
  // model and its limit (OpenClaw checks maxInputImagesByModel first): none is dropped silently.
  const size = chooseSize(model, request)
  if (size && request.size && size !== normaliseSize(request.size)) notes.push(`${model.id} does not make ${request.size}; made ${size}.`)
  // The provider advertises the largest count any model takes; a model that makes fewer per
  // request (dall-e-3: one) makes what it can, in one paid request, rather than fail the call.
  let count = request.count
  if (count !== undefined && count > model.maxN) {
    notes.push(`${model.id} makes at most ${model.maxN} image${model.maxN === 1 ? '' : 's'} per request; made ${model.maxN}, not ${count}.`)
    count = model.maxN
  }

  const body = {
    prompt: request.prompt,
    model: model.id,
    ...(size ? { size } : {}),
    ...(count !== undefined ? { n: count } : {}),
  }
  const signal = AbortSignal.timeout(request.timeoutMs ?? providerTimeoutMs(access))
  const result: ImageResult = await access.run((core) =>
    editing ? core.edit({ ...body, image: inputs.length === 1 ? dataUri(inputs[0]!) : inputs.map(dataUri) }, { signal }) : core.generate(body, { signal }),
  )
  const images = await Promise.all(
    result.images.map(async (image) => ({
      buffer: await readFile(image.path),
      mimeType: image.mimeType,
      fileName: image.file,
      ...(image.revisedPrompt ? { revisedPrompt: image.revisedPrompt } : {}),
      metadata: { path: image.path, url: image.url },
    })),
  )
  notes.push(...result.notes)
  const cost = result.cost
  return {
    images,
    model: result.model,
    metadata: {
      size: result.size,
      ...(notes.length ? { notes } : {}),
      cost: cost ? { usd: cost.usd, amount: cost.amount.toString(), network: cost.network, transaction: cost.transaction ?? null, status: cost.status } : null,
    },
  }
}

function dataUri({ buffer, mimeType }: { buffer: Buffer; mimeType: string }): string {
  return `data:${mimeType || 'image/png'};base64,${Buffer.from(buffer).toString('base64')}`
}
