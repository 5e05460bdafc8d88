/**
 * The image generation provider "imagegen": OpenClaw's own `image_generate` tool and
 * `openclaw infer image generate|edit --model imagegen/<model>` run through the BlockRun wallet.
 *
 * Requests go through the same core as the tools (the service's proxy, or in-process under
 * `openclaw infer`), so they pass the same spend policy and land in the same ledger. The stored
 * file is read back and handed to OpenClaw, which writes its own copy where it was asked to.
 */
import { readFile } from 'node:fs/promises'
import { bundledCatalog, chooseSize, DEFAULT_EDIT_MODEL, DEFAULT_MODEL, matchesRatio, normaliseSize, QUALITIES, ratioLabel, resolutionOf, type ModelEntry, type Quality } from '../../server/catalog/index.js'
import { formatUsd } from '../../server/money.js'
import { MAX_N } from '../../server/schemas.js'
import type { ImageResult } from '../../server/service.js'
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

/**
 * OpenClaw's quality words (`ImageGenerationQuality`) and the gateway's (`standard | hd`, the SDK's):
 * a model is declared with the words that land on a quality it takes, so OpenClaw offers those and
 * reports any other as not applied (`ignoredOverrides`).
 */
const OPENCLAW_QUALITY: Readonly<Record<string, Quality>> = { medium: 'standard', high: 'hd' }

/** The OpenClaw quality words a model honours. */
function qualityWords(model: ModelEntry): string[] {
  return Object.entries(OPENCLAW_QUALITY)
    .filter(([, ours]) => model.quality[ours] !== undefined)
    .map(([word]) => word)
}

/**
 * What the provider declares is the bundled table's: registration must not touch the network. A
 * model only the gateway's live catalog lists still works when named (`imagegen/<id>`): the core
 * resolves it against the live catalog, and OpenClaw, finding no declaration for it, passes the
 * request's settings through for the core to check.
 */
export function imageGenerationProvider(access: CoreAccess): ImageGenerationProvider {
  const { models } = bundledCatalog()
  const editModels = models.filter((m) => m.edit)
  const byModel = <T>(pick: (model: ModelEntry) => T[]) => Object.fromEntries(models.map((m) => [m.id, [...new Set(pick(m))]]))
  return {
    id: PROVIDER_ID,
    label: 'BlockRun images (paid from your x402 wallet)',
    defaultModel: access.loaded.ok ? access.loaded.settings.defaultModel : DEFAULT_MODEL,
    defaultTimeoutMs: providerTimeoutMs(access),
    models: models.map((m) => m.id),
    capabilities: {
      generate: { maxCount: MAX_N, supportsSize: true, supportsAspectRatio: true, supportsResolution: true },
      edit: {
        enabled: true,
        maxCount: Math.max(...editModels.map((m) => m.maxN)),
        maxInputImages: Math.max(...editModels.map((m) => m.maxInputImages)),
        // 0 for a model the gateway does not edit with: OpenClaw refuses such an edit before
        // calling, naming the model, so the agent can pick one that edits.
        maxInputImagesByModel: Object.fromEntries(models.map((m) => [m.id, m.edit ? m.maxInputImages : 0])),
        supportsSize: true,
        supportsAspectRatio: true,
        // An edit's size follows a resolution as a generation's does (OpenClaw infers one from
        // the input images when none is asked).
        supportsResolution: true,
      },
      geometry: {
        sizesByModel: byModel((m) => [...m.sizes]),
        aspectRatiosByModel: byModel((m) => m.sizes.map(ratioLabel)),
        resolutionsByModel: byModel((m) => m.sizes.map(resolutionOf)),
      },
      // No formats or backgrounds: the gateway has no such settings, so OpenClaw reports them as not applied.
      output: { qualitiesByModel: Object.fromEntries(models.filter((m) => qualityWords(m).length).map((m) => [m.id, qualityWords(m)])) },
    },
    // The wallet is created on first use, so there is nothing to set up before the first call;
    // an unfunded wallet is reported by the call itself, with the address to fund.
    isConfigured: () => true,
    generateImage: (request) => generate(access, request),
  }
}

async function generate(access: CoreAccess, request: ImageGenerationRequest): Promise<{ images: GeneratedImage[]; model: string; metadata: Record<string, unknown> }> {
  const notes: string[] = []
  const catalog = bundledCatalog()
  const inputs = request.inputImages ?? []
  const editing = inputs.length > 0
  // Unknown to the bundled table: possibly a model only the live catalog lists; the core decides.
  let model = catalog.find(request.model)?.model
  let modelName = request.model
  if (editing && model && !model.edit) {
    // Use the cheapest model that edits rather than fail an edit that arrived with a generation
    // model (the provider's default, say).
    const editor = catalog.find(DEFAULT_EDIT_MODEL)!.model
    notes.push(`${model.id} cannot edit images; the edit ran on ${editor.id}.`)
    model = editor
    modelName = editor.id
  }
  // More input images than the model takes is refused by the core before paying, naming the
  // model and its limit (OpenClaw checks maxInputImagesByModel first): none is dropped silently.
  const geometry = geometryFor(model, request, notes)
  // The provider advertises the largest count any model takes; a model that makes fewer per
  // request makes what it can, in one paid request, rather than fail the call.
  let count = request.count
  const maxN = model?.maxN ?? MAX_N
  if (count !== undefined && count > maxN) {
    notes.push(`${model?.id ?? modelName} makes at most ${maxN} image${maxN === 1 ? '' : 's'} per request; made ${maxN}, not ${count}.`)
    count = maxN
  }
  let quality: Quality | undefined
  if (request.quality !== undefined) {
    // OpenClaw's word becomes the gateway's where the model takes it; otherwise the word goes to
    // the core as asked, which applies it or says, in those words, that it was not applied.
    const mapped = OPENCLAW_QUALITY[request.quality]
    quality = mapped && model?.quality[mapped] !== undefined ? mapped : (QUALITIES as readonly string[]).includes(request.quality) ? (request.quality as Quality) : undefined
    if (quality === undefined) notes.push(`quality ${request.quality} was not applied: the gateway takes ${QUALITIES.slice(0, 2).join(' or ')}.`)
  }

  const body = {
    prompt: request.prompt,
    model: modelName,
    ...geometry,
    ...(count !== undefined ? { n: count } : {}),
    // The core applies these where the model takes them and says so where it does not.
    ...(quality && !editing ? { quality } : {}),
    ...(request.outputFormat !== undefined ? { output_format: request.outputFormat } : {}),
    ...(request.background !== undefined ? { background: request.background } : {}),
  }
  if (quality && editing) notes.push(`quality ${quality} was not applied: the gateway's edit route takes no quality setting.`)
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
      metadata: { path: image.path, url: image.url, sha256: image.sha256 },
    })),
  )
  const cost = result.cost
  const allNotes = [...notes, ...result.notes]
  const ran = catalog.find(result.model)?.model
  const appliedQuality = quality && !editing && ran?.quality[quality]
  return {
    images,
    model: result.model,
    metadata: {
      // What ran, whatever was asked: OpenClaw shows it beside its own normalization report.
      applied: {
        model: result.model,
        size: result.size,
        ...(/^\d+x\d+$/.test(result.size) ? { aspectRatio: ratioLabel(result.size), resolution: resolutionOf(result.size) } : {}),
        count: result.images.length,
        ...(appliedQuality ? { quality: appliedQuality } : {}),
        mode: editing ? 'edit' : 'generate',
        ...(editing ? { inputImages: inputs.length } : {}),
      },
      size: result.size,
      receipt: result.receiptId,
      ...(result.requestedModel !== result.model ? { requestedModel: result.requestedModel } : {}),
      ...(allNotes.length ? { notes: allNotes } : {}),
      estimate: result.estimate === undefined ? null : { amount: result.estimate.toString(), usd: formatUsd(result.estimate) },
      cost: cost ? { usd: cost.usd, amount: cost.amount.toString(), network: cost.network, payer: cost.payer, transaction: cost.transaction ?? null, status: cost.status } : null,
    },
  }
}

/**
 * OpenClaw's geometry hints as our request: an exact size or a resolution picks the model's
 * nearest size here (OpenClaw's own tools pass defaults on the agent's behalf, which must not fail
 * a paid call); an aspect ratio alone goes to the core, which maps it and says so. For a model the
 * bundled table does not know, the size is passed as asked and the core checks it.
 */
function geometryFor(model: ModelEntry | undefined, request: ImageGenerationRequest, notes: string[]): { size?: string; aspect_ratio?: string } {
  if (!request.size && !request.resolution) return request.aspectRatio ? { aspect_ratio: request.aspectRatio } : {}
  if (!model) {
    if (request.resolution && !request.size) notes.push(`resolution ${request.resolution} was not applied: the sizes of ${request.model} are not in the bundled table.`)
    return request.size ? { size: normaliseSize(request.size) } : request.aspectRatio ? { aspect_ratio: request.aspectRatio } : {}
  }
  const size = chooseSize(model, request)
  if (!size) return {}
  const asked = request.size ? normaliseSize(request.size) : undefined
  if (asked && size !== asked) notes.push(`${model.id} does not make ${request.size}; made ${size}.`)
  if (!asked) notes.push(`${[request.aspectRatio && `aspect ratio ${request.aspectRatio}`, `resolution ${request.resolution}`].filter(Boolean).join(' at ')} → ${size}.`)
  if (asked && request.aspectRatio && !matchesRatio(size, request.aspectRatio)) notes.push(`aspect ratio ${request.aspectRatio} was not applied: the size given decides.`)
  return { size }
}

function dataUri({ buffer, mimeType }: { buffer: Buffer; mimeType: string }): string {
  return `data:${mimeType || 'image/png'};base64,${Buffer.from(buffer).toString('base64')}`
}
