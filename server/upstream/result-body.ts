/**
 * Reads an upstream image result (`{"data": [{"b64_json" | "url": ...}]}`) as it arrives.
 *
 * Image data (`data[i].b64_json`, and `data[i].url` when it is a base64 data URI) is decoded a
 * network chunk at a time straight into an ImageSink (the store writes it to a temp file), so a
 * 50 MB image costs a few hundred KB of memory instead of text + parsed string + decoded bytes.
 * Everything else is parsed normally. Each network chunk is decoded and written before the next
 * is read, so a slow disk slows the download instead of filling memory.
 */
import { upstreamError } from '../errors.js'
import { Base64Decoder } from './base64-stream.js'
import { JsonSkeletonScanner, type JsonPath, type StringSink } from './json-scan.js'
import { TextChunks } from './text-chunks.js'

/** Where one decoded image goes; `finish` commits it and says what it became. */
export type ImageSink<T> = {
  write(chunk: Uint8Array): Promise<void>
  finish(): Promise<T>
  abort(): Promise<void>
}

export type ResultField<T> = { kind: 'text'; text: string } | { kind: 'image'; sink: ImageSink<T> }

export type ResultBody<T> = {
  /** The document with every diverted string replaced by null. */
  value: unknown
  /** A diverted field of `data[index]`: image data in a sink, or a plain (short) URL. */
  field(index: number, name: 'b64_json' | 'url'): ResultField<T> | undefined
  /** Aborts every image sink not in `keep`. */
  discard(keep?: ReadonlySet<ImageSink<T>>): Promise<void>
}

/** Characters allowed outside image data: result JSON is small apart from its images. */
const MAX_SKELETON_CHARS = 4 * 1024 * 1024
/** A hosted image URL longer than this is refused. */
const MAX_URL_CHARS = 64 * 1024
/** A data URI's `data:<type>;base64` header longer than this is refused. */
const MAX_DATA_HEADER_CHARS = 1024

/** `openSink` is given the index of the `data` entry the image belongs to. */
export async function readResultBody<T>(response: Response, openSink: (index: number) => ImageSink<T>): Promise<ResultBody<T>> {
  const fields = new Map<string, ResultField<T>>()
  const sinks: ImageSink<T>[] = []
  /** Writes queued by the (synchronous) scanner, run in order after each network chunk. */
  let queue: Array<() => Promise<void>> = []

  const imageSink = (index: number): { sink: ImageSink<T>; decoder: Base64Decoder } => {
    const sink = openSink(index)
    sinks.push(sink)
    const decoder = new Base64Decoder((bytes) => queue.push(() => sink.write(bytes)))
    return { sink, decoder }
  }

  const divert = (path: JsonPath): StringSink | undefined => {
    if (path.length !== 3 || path[0] !== 'data' || typeof path[1] !== 'number') return undefined
    const key = `${path[1]}:${String(path[2])}`
    const index = path[1]
    if (path[2] === 'b64_json') {
      const { sink, decoder } = imageSink(index)
      fields.set(key, { kind: 'image', sink })
      return decoder
    }
    if (path[2] === 'url') return new UrlField((field) => fields.set(key, field), () => imageSink(index))
    return undefined
  }

  const scanner = new JsonSkeletonScanner({ divert, maxSkeleton: MAX_SKELETON_CHARS })
  const text = new TextChunks()
  const reader = response.body?.getReader()
  try {
    if (reader) {
      for (;;) {
        const { done, value } = await reader.read().catch((error: unknown) => {
          throw upstreamError('The upstream closed the connection in the middle of its answer.', error, 'upstream_truncated')
        })
        if (done) break
        scanner.push(text.decode(value))
        await drain()
      }
    }
    scanner.push(text.end())
    await drain()
    const value = scanner.finish()
    return {
      value,
      field: (index, name) => fields.get(`${index}:${name}`),
      discard: async (keep) => {
        for (const sink of sinks) if (!keep?.has(sink)) await sink.abort()
      },
    }
  } catch (error) {
    await reader?.cancel().catch(() => {})
    for (const sink of sinks) await sink.abort()
    if (error instanceof SyntaxError || error instanceof RangeError) throw upstreamError(`The upstream answered with a body that is not usable JSON (${error.message}).`, error, 'bad_body')
    throw error
  }

  async function drain() {
    while (queue.length > 0) {
      const batch = queue
      queue = []
      for (const write of batch) await write()
    }
  }
}

/**
 * `data[i].url`: a hosted URL (kept as text) or a `data:<type>;base64,` URI (decoded to a sink).
 * Which one is known from the first characters.
 */
class UrlField<T> implements StringSink {
  private head = ''
  private decoder: Base64Decoder | undefined

  constructor(
    private readonly done: (field: ResultField<T>) => void,
    private readonly imageSink: () => { sink: ImageSink<T>; decoder: Base64Decoder },
  ) {}

  write(text: string): void {
    if (this.decoder) return this.decoder.write(text)
    this.head += text
    if (this.head.length < 5) return
    if (this.head.slice(0, 5).toLowerCase() !== 'data:') {
      if (this.head.length > MAX_URL_CHARS) throw upstreamError(`The upstream returned an image URL longer than ${MAX_URL_CHARS} characters.`, undefined, 'bad_image_entry')
      return
    }
    const comma = this.head.indexOf(',')
    if (comma < 0) {
      if (this.head.length > MAX_DATA_HEADER_CHARS) throw notBase64()
      return
    }
    if (!/;base64$/i.test(this.head.slice(0, comma))) throw notBase64()
    const { sink, decoder } = this.imageSink()
    this.decoder = decoder
    this.done({ kind: 'image', sink })
    const rest = this.head.slice(comma + 1)
    this.head = ''
    decoder.write(rest)
  }

  end(): void {
    if (this.decoder) return this.decoder.end()
    if (this.head.slice(0, 5).toLowerCase() === 'data:') throw notBase64()
    this.done({ kind: 'text', text: this.head })
  }
}

function notBase64() {
  return upstreamError('The upstream returned a data URI that is not base64.', undefined, 'bad_image_entry')
}
