/**
 * The gateway's live model catalog: `GET {upstream}/v1/models`, the image entries only, and its
 * copy on disk.
 *
 * The catalog is unified: image models are the entries whose `categories` include "image". Field
 * names are the ones BlockRun's SDK reads (`ImageClient.listImageModels`): `id`, `name`,
 * `provider|owned_by`, `description`, the price from `pricePerImage|price_per_image|
 * pricing.per_image|pricing.perImage|pricing.flat|flatPrice|flat_price`, sizes from
 * `supportedSizes|supported_sizes`, `maxPromptLength|max_prompt_length`. Anything else is ignored.
 * Franklin asks for `?format=json` ("without ?format=json the gateway returns a typed schema
 * placeholder"); the SDK asks without it. Both are tried, that one first.
 *
 * The margin: the gateway's Base listing states `pricing.per_image` with its 5% margin already in
 * and the fee beside it (`transaction_fee: 0.001`), while its Solana listing states the list price
 * alone (BlockRun's model-catalog, `source/catalog.json`, observed 2026-09-29: nano-banana 0.0525
 * on Base, 0.05 on Solana). An entry that states a `transaction_fee` is read as margin-included.
 *
 * @see node_modules/@blockrun/llm/dist/index.js (ImageClient.listImageModels)
 */
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { writeFileAtomic } from '../store/atomic.js'
import { readSmallBody } from '../upstream/small-body.js'
import { normaliseSize } from './geometry.js'
import type { LivePrice } from './model.js'

/** One image model as the live catalog states it. */
export type LiveModel = {
  id: string
  name?: string | undefined
  provider?: string | undefined
  description?: string | undefined
  sizes?: string[] | undefined
  maxPromptChars?: number | undefined
  price?: LivePrice | undefined
}

/** What one successful read of the live catalog gave. */
export type LiveSnapshot = { upstream: string; url: string; fetchedAt: number; models: LiveModel[] }

/** The whole catalog (every category) is about 140 KB today. */
const MAX_CATALOG_BYTES = 4 * 1024 * 1024
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._+-]*(\/[A-Za-z0-9][A-Za-z0-9._+-]*)+$/

/** The image entries of a `/v1/models` body; undefined when the body is not a model list at all. */
export function parseModelList(body: unknown): LiveModel[] | undefined {
  const data = (body as { data?: unknown } | null)?.data
  if (!Array.isArray(data)) return undefined
  const models: LiveModel[] = []
  const seen = new Set<string>()
  for (const item of data) {
    const model = parseImageEntry(item)
    if (model && !seen.has(model.id)) {
      seen.add(model.id)
      models.push(model)
    }
  }
  return models
}

function parseImageEntry(item: unknown): LiveModel | undefined {
  if (!item || typeof item !== 'object') return undefined
  const entry = item as Record<string, unknown>
  if (!Array.isArray(entry.categories) || !entry.categories.includes('image')) return undefined
  if (entry.available === false) return undefined
  if (typeof entry.id !== 'string' || entry.id.length > 100 || !ID_PATTERN.test(entry.id)) return undefined
  const pricing = (entry.pricing && typeof entry.pricing === 'object' ? entry.pricing : {}) as Record<string, unknown>
  const perImage = [entry.pricePerImage, entry.price_per_image, pricing.per_image, pricing.perImage, pricing.flat, entry.flatPrice, entry.flat_price].find((v) => typeof v === 'number')
  const price = typeof perImage === 'number' ? usdToBaseUnits(perImage) : undefined
  const fee = typeof pricing.transaction_fee === 'number' ? usdToBaseUnits(pricing.transaction_fee) : undefined
  const sizes = (entry.supportedSizes ?? entry.supported_sizes) as unknown
  const maxPrompt = (entry.maxPromptLength ?? entry.max_prompt_length) as unknown
  return {
    id: entry.id.toLowerCase(),
    name: text(entry.name),
    provider: text(entry.provider) ?? text(entry.owned_by),
    description: text(entry.description),
    sizes: Array.isArray(sizes) ? [...new Set(sizes.filter((s): s is string => typeof s === 'string').map(normaliseSize).filter((s) => /^\d{2,5}x\d{2,5}$/.test(s)))] : undefined,
    maxPromptChars: typeof maxPrompt === 'number' && Number.isSafeInteger(maxPrompt) && maxPrompt > 0 ? maxPrompt : undefined,
    price: price === undefined ? undefined : { perImage: price, marginIncluded: fee !== undefined, fee },
  }
}

/** A dollar figure (a JSON number) as base units, rounded up to the micro-dollar; undefined when not a sane price. */
export function usdToBaseUnits(value: number): bigint | undefined {
  if (!Number.isFinite(value) || value < 0 || value > 1000) return undefined
  const [whole, fraction = ''] = value.toFixed(12).split('.')
  const micro = BigInt(whole!) * 1_000_000n + BigInt(fraction.slice(0, 6).padEnd(6, '0'))
  return /[1-9]/.test(fraction.slice(6)) ? micro + 1n : micro
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() ? value.trim().slice(0, 500) : undefined
}

/** Reads the live catalog; throws an Error saying why it could not. */
export async function fetchLiveModels(upstream: string, signal: AbortSignal): Promise<LiveSnapshot> {
  const reasons: string[] = []
  for (const url of [`${upstream}/v1/models?format=json`, `${upstream}/v1/models`]) {
    let response: Response
    try {
      response = await fetch(url, { headers: { accept: 'application/json' }, signal })
    } catch (error) {
      if (signal.aborted) throw new Error(`${url} did not answer in time`)
      throw new Error(`${url} could not be reached (${error instanceof Error ? error.message : String(error)})`)
    }
    const body = await readSmallBody(response, MAX_CATALOG_BYTES).catch((error: unknown) => {
      if (signal.aborted) throw new Error(`${url} did not answer in time`)
      return error instanceof Error ? error.message : String(error)
    })
    const models = response.ok ? parseModelList(body) : undefined
    // A list without a single image model is no catalog to go by (a gateway fault, or something
    // else answering the path): it would make every model look delisted.
    if (models?.length) return { upstream, url, fetchedAt: Date.now(), models }
    reasons.push(`${url} answered ${!response.ok ? `HTTP ${response.status}` : models ? 'a model list without image models' : 'something that is not a model list'}`)
  }
  throw new Error(reasons.join('; '))
}

/** The cache file for one upstream in the data directory (one per upstream: the sandbox's is not blockrun.ai's). */
export function cacheFileFor(home: string, upstream: string): string {
  return join(home, 'catalog', `models-${createHash('sha256').update(upstream).digest('hex').slice(0, 16)}.json`)
}

type CachedSnapshot = { version: 1; upstream: string; url: string; fetchedAt: number; models: Array<Omit<LiveModel, 'price'> & { price?: { perImage: string; marginIncluded: boolean; fee?: string } }> }

export async function writeSnapshot(file: string, snapshot: LiveSnapshot): Promise<void> {
  const cached: CachedSnapshot = {
    version: 1,
    upstream: snapshot.upstream,
    url: snapshot.url,
    fetchedAt: snapshot.fetchedAt,
    models: snapshot.models.map(({ price, ...rest }) => ({
      ...rest,
      ...(price ? { price: { perImage: price.perImage.toString(), marginIncluded: price.marginIncluded, ...(price.fee !== undefined ? { fee: price.fee.toString() } : {}) } } : {}),
    })),
  }
  // Another process may read it at any time: whole or not at all. Losing it in a crash costs one fetch.
  await writeFileAtomic(file, `${JSON.stringify(cached)}\n`, { directorySync: 'background' })
}

/** The snapshot on disk for `upstream`; undefined when there is none or it cannot be read. */
export async function readSnapshot(file: string, upstream: string): Promise<LiveSnapshot | undefined> {
  let cached: CachedSnapshot
  try {
    cached = JSON.parse(await readFile(file, 'utf8')) as CachedSnapshot
  } catch {
    return undefined
  }
  if (cached?.version !== 1 || cached.upstream !== upstream || typeof cached.fetchedAt !== 'number' || !Array.isArray(cached.models)) return undefined
  try {
    const models = cached.models.map(({ price, ...rest }) => ({
      ...rest,
      price: price ? { perImage: BigInt(price.perImage), marginIncluded: price.marginIncluded === true, fee: price.fee === undefined ? undefined : BigInt(price.fee) } : undefined,
    }))
    return { upstream, url: String(cached.url), fetchedAt: cached.fetchedAt, models }
  } catch {
    return undefined
  }
}
