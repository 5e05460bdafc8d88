/**
 * OpenClaw's image requests describe geometry three ways (an exact `size`, an `aspectRatio` such
 * as "16:9", a `resolution` of 1K/2K/4K); each of our models takes a short fixed list of sizes, and
 * the upstream rejects anything else. This picks the accepted size closest to what was asked,
 * rather than failing a request over a size the user never chose (OpenClaw's own tools pass
 * defaults such as 1024x1024 or 16:9 on the agent's behalf).
 */
import { parseSize, type ModelEntry } from '../../server/catalog.js'

export type GeometryRequest = { size?: string | undefined; aspectRatio?: string | undefined; resolution?: '1K' | '2K' | '4K' | undefined }

const RESOLUTION_EDGE = { '1K': 1024, '2K': 2048, '4K': 4096 } as const

/** Width/height from "16:9", "16x9" or "1.5"; undefined when unreadable. */
export function parseRatio(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(?:[:x×/]\s*(\d+(?:\.\d+)?))?\s*$/i.exec(text)
  if (!match) return undefined
  const ratio = match[2] === undefined ? Number(match[1]) : Number(match[1]) / Number(match[2])
  return Number.isFinite(ratio) && ratio > 0 ? ratio : undefined
}

/** "1024X1024" / "1024×1024" → "1024x1024". */
export function normaliseSize(size: string): string {
  return size.trim().toLowerCase().replace(/[×*]/g, 'x').replace(/\s+/g, '')
}

/**
 * The model's size for the request: the asked size when the model takes it, else the accepted size
 * nearest in aspect ratio (then in long edge to the asked size or resolution). A resolution alone
 * keeps the default size's shape (square): it asks for more pixels, not another format. Undefined
 * when the request says nothing about geometry, so the model's default applies.
 */
export function chooseSize(model: ModelEntry, request: GeometryRequest): string | undefined {
  const asked = request.size ? normaliseSize(request.size) : undefined
  if (asked && model.sizes.includes(asked)) return asked
  const askedDims = asked && /^\d+x\d+$/.test(asked) ? parseSize(asked) : undefined
  const askedRatio = askedDims ? askedDims.width / askedDims.height : request.aspectRatio ? parseRatio(request.aspectRatio) : undefined
  const edge = askedDims ? Math.max(askedDims.width, askedDims.height) : request.resolution ? RESOLUTION_EDGE[request.resolution] : undefined
  if (askedRatio === undefined && edge === undefined) return undefined
  const ratio = askedRatio ?? defaultRatio(model)

  let best: { size: string; score: [number, number] } | undefined
  for (const size of model.sizes) {
    const { width, height } = parseSize(size)
    const ratioDistance = ratio === undefined ? 0 : Math.abs(Math.log(width / height / ratio))
    const edgeDistance = edge === undefined ? 0 : Math.abs(Math.log(Math.max(width, height) / edge))
    const score: [number, number] = [round(ratioDistance), round(edgeDistance)]
    if (!best || score[0] < best.score[0] || (score[0] === best.score[0] && score[1] < best.score[1])) best = { size, score }
  }
  return best?.size
}

/** The shape of the model's default size (the catalog lists it first). */
function defaultRatio(model: ModelEntry): number {
  const { width, height } = parseSize(model.sizes[0]!)
  return width / height
}

/** Distances within ~1% count as equal, so ties fall to the next criterion, then to catalog order (the default size first). */
function round(value: number): number {
  return Math.round(value * 100) / 100
}
