/**
 * The images of a read result: each entry's image (b64_json first, then url) committed to its
 * sink in order, or kept as a URL still to download; everything else decoded is dropped.
 */
import { upstreamError } from '../errors.js'
import type { StoredImage } from '../store/images.js'
import type { ImageSink, ResultBody } from './result-body.js'

/** Longest revised prompt passed on. */
const MAX_REVISED_PROMPT_CHARS = 2000

/**
 * One image as the upstream gave it: already written to the store (when the client was given a
 * sink for images), decoded bytes (when not), or a URL still to download.
 */
export type UpstreamImage =
  | { kind: 'stored'; image: StoredImage; revisedPrompt?: string }
  | { kind: 'bytes'; data: Buffer; revisedPrompt?: string }
  | { kind: 'url'; url: string; revisedPrompt?: string }

export type DecodedImage = { kind: 'stored'; image: StoredImage } | { kind: 'bytes'; data: Buffer }

type ResultItem = { url?: unknown; b64_json?: unknown; revised_prompt?: unknown }

/**
 * Picks each entry's image (b64_json first, then url) from a read result, for the first `limit`
 * entries (the images asked for; see result-limits.ts), commits the chosen images to their sinks
 * in order and drops everything else that was decoded.
 */
export async function takeImages(result: ResultBody<DecodedImage>, limit = Number.POSITIVE_INFINITY): Promise<UpstreamImage[]> {
  type Choice = { sink: ImageSink<DecodedImage>; revisedPrompt?: string } | { url: string; revisedPrompt?: string }
  const choices: Choice[] = []
  try {
    const data = (result.value as { data?: unknown } | undefined)?.data
    if (!Array.isArray(data) || data.length === 0) throw upstreamError('The upstream answered without any images.', undefined, 'no_images')
    data.slice(0, limit).forEach((item: ResultItem, index) => {
      // Revised prompts end up in tool results, which clients cap: keep them to a paragraph.
      const revisedPrompt = typeof item?.revised_prompt === 'string' ? item.revised_prompt.slice(0, MAX_REVISED_PROMPT_CHARS) : undefined
      const extra = revisedPrompt ? { revisedPrompt } : {}
      // Diverted strings read as null in the parsed document; their content is in `field`.
      const b64 = item?.b64_json === null ? result.field(index, 'b64_json') : undefined
      if (b64?.kind === 'image') return void choices.push({ sink: b64.sink, ...extra })
      const url = item?.url === null ? result.field(index, 'url') : undefined
      if (url?.kind === 'image') return void choices.push({ sink: url.sink, ...extra })
      if (url?.kind === 'text') {
        const parsed = URL.canParse(url.text) ? new URL(url.text) : undefined
        if (parsed && (parsed.protocol === 'https:' || parsed.protocol === 'http:')) return void choices.push({ url: parsed.href, ...extra })
      }
      throw upstreamError('The upstream returned an image entry with neither a usable url nor b64_json.', undefined, 'bad_image_entry')
    })
  } catch (error) {
    await result.discard()
    throw error
  }
  const chosen = new Set(choices.flatMap((choice) => ('sink' in choice ? [choice.sink] : [])))
  await result.discard(chosen)
  const images: UpstreamImage[] = []
  try {
    for (const choice of choices) {
      const extra = choice.revisedPrompt ? { revisedPrompt: choice.revisedPrompt } : {}
      if ('url' in choice) images.push({ kind: 'url', url: choice.url, ...extra })
      else {
        chosen.delete(choice.sink)
        images.push({ ...(await choice.sink.finish()), ...extra })
      }
    }
  } catch (error) {
    for (const sink of chosen) await sink.abort()
    throw error
  }
  return images
}

/** Images into the store as they are decoded. */
export function storedSink(writer: ImageSink<StoredImage>): ImageSink<DecodedImage> {
  return {
    write: (chunk) => writer.write(chunk),
    finish: async () => ({ kind: 'stored', image: await writer.finish() }),
    abort: () => writer.abort(),
  }
}

/** Images collected in memory (a client built without a store). */
export function memorySink(): ImageSink<DecodedImage> {
  let chunks: Uint8Array[] = []
  return {
    write: async (chunk) => void chunks.push(chunk),
    finish: async () => {
      const data = Buffer.concat(chunks)
      chunks = []
      if (data.length === 0) throw upstreamError('The upstream returned empty image data.', undefined, 'bad_image_entry')
      return { kind: 'bytes', data }
    },
    abort: async () => void (chunks = []),
  }
}
