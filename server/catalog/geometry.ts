/**
 * Sizes and shapes. Requests describe geometry three ways: an exact `size`, an `aspect_ratio`
 * ("square", "portrait", "landscape", or a ratio such as "16:9"), or (OpenClaw) a `resolution` of
 * 1K/2K/4K. Each model takes a short fixed list of sizes and the gateway refuses anything else, so
 * a shape or resolution maps to the accepted size nearest to it; the caller says which size ran.
 */
export type Resolution = '1K' | '2K' | '4K'

export type GeometryRequest = { size?: string | undefined; aspectRatio?: string | undefined; resolution?: Resolution | undefined }

const RESOLUTION_EDGE: Readonly<Record<Resolution, number>> = { '1K': 1024, '2K': 2048, '4K': 4096 }

/** The shapes a request may name in words, as width/height. */
const SHAPES = { square: 1, portrait: 2 / 3, landscape: 3 / 2 } as const
type Shape = keyof typeof SHAPES

/** `aspect_ratio` as the schema accepts it: a shape word, or `W:H` (also `W/H`, `WxH`). */
export const ASPECT_RATIO_PATTERN = /^\s*(square|portrait|landscape|\d{1,5}(\.\d{1,3})?\s*[:/x×]\s*\d{1,5}(\.\d{1,3})?)\s*$/i

export function parseSize(size: string): { width: number; height: number } {
  const [w, h] = size.split('x').map(Number)
  return { width: w!, height: h! }
}

/** "1024X1024" / "1024×1024" / " 1024 x 1024 " → "1024x1024". */
export function normaliseSize(size: string): string {
  return size.trim().toLowerCase().replace(/[×*]/g, 'x').replace(/\s+/g, '')
}

/** Width/height from "16:9", "16x9", "1.5" or a shape word; undefined when unreadable. */
export function parseRatio(text: string): number | undefined {
  const word = text.trim().toLowerCase()
  if (word in SHAPES) return SHAPES[word as Shape]
  const match = /^\s*(\d+(?:\.\d+)?)\s*(?:[:x×/]\s*(\d+(?:\.\d+)?))?\s*$/i.exec(text)
  if (!match) return undefined
  const ratio = match[2] === undefined ? Number(match[1]) : Number(match[1]) / Number(match[2])
  return Number.isFinite(ratio) && ratio > 0 ? ratio : undefined
}

/**
 * The model's size for the request: the asked size when the model takes it, else the accepted
 * size nearest in aspect ratio (then in long edge to the asked size or resolution). "portrait" and
 * "landscape" pick among the sizes of that orientation when the model has any. A resolution alone
 * keeps the default size's shape: it asks for more pixels, not another format. Undefined when the
 * request says nothing about geometry, or the model's sizes are unknown.
 */
export function chooseSize(model: { sizes: readonly string[] }, request: GeometryRequest): string | undefined {
  if (model.sizes.length === 0) return undefined
  const asked = request.size ? normaliseSize(request.size) : undefined
  if (asked && model.sizes.includes(asked)) return asked
  const askedDims = asked && /^\d+x\d+$/.test(asked) ? parseSize(asked) : undefined
  const askedRatio = askedDims ? askedDims.width / askedDims.height : request.aspectRatio ? parseRatio(request.aspectRatio) : undefined
  const edge = askedDims ? Math.max(askedDims.width, askedDims.height) : request.resolution ? RESOLUTION_EDGE[request.resolution] : undefined
  if (askedRatio === undefined && edge === undefined) return undefined
  const ratio = askedRatio ?? ratioOf(model.sizes[0]!)
  const shape = !askedDims ? request.aspectRatio?.trim().toLowerCase() : undefined
  const oriented = shape === 'portrait' || shape === 'landscape' ? model.sizes.filter((size) => orientationOf(size) === shape) : []
  const candidates = oriented.length ? oriented : model.sizes

  let best: { size: string; score: [number, number] } | undefined
  for (const size of candidates) {
    const { width, height } = parseSize(size)
    const score: [number, number] = [round(Math.abs(Math.log(width / height / ratio))), edge === undefined ? 0 : round(Math.abs(Math.log(Math.max(width, height) / edge)))]
    if (!best || score[0] < best.score[0] || (score[0] === best.score[0] && score[1] < best.score[1])) best = { size, score }
  }
  return best?.size
}

/** "portrait", "landscape" or "square". */
export function orientationOf(size: string): 'portrait' | 'landscape' | 'square' {
  const { width, height } = parseSize(size)
  return width === height ? 'square' : width > height ? 'landscape' : 'portrait'
}

/** Whether `size` has the shape `aspectRatio` asks for, within 1%. */
export function matchesRatio(size: string, aspectRatio: string): boolean {
  const wanted = parseRatio(aspectRatio)
  const shape = aspectRatio.trim().toLowerCase()
  if (shape === 'portrait' || shape === 'landscape') return orientationOf(size) === shape
  return wanted !== undefined && Math.abs(Math.log(ratioOf(size) / wanted)) < 0.01
}

/** The ratio of a size in small whole numbers: 1536x1024 → "3:2", 2848x1600 → "16:9". */
export function ratioLabel(size: string): string {
  const { width, height } = parseSize(size)
  const divisor = gcd(width, height)
  if (width / divisor <= 21 && height / divisor <= 21) return `${width / divisor}:${height / divisor}`
  for (let h = 1; h <= 21; h++) {
    const w = Math.round((width / height) * h)
    if (w >= 1 && Math.abs(Math.log(w / h / (width / height))) < 0.01) return `${w}:${h}`
  }
  return `${width}:${height}`
}

/** The resolution class of a size by its long edge: up to 1536 px 1K, up to 3072 px 2K, else 4K. */
export function resolutionOf(size: string): Resolution {
  const { width, height } = parseSize(size)
  const edge = Math.max(width, height)
  return edge <= 1536 ? '1K' : edge <= 3072 ? '2K' : '4K'
}

function ratioOf(size: string): number {
  const { width, height } = parseSize(size)
  return width / height
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b)
}

/** Distances within ~1% count as equal, so ties fall to the next criterion, then to catalog order (the default size first). */
function round(value: number): number {
  return Math.round(value * 100) / 100
}
