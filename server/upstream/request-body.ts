/**
 * Encodes a JSON request body for the upstream without copying its big strings.
 *
 * An edit carries its image (and mask) as base64 data URIs of up to tens of MB. `JSON.stringify`
 * of such a body makes a second copy of every image string (and scans it character by character,
 * hundreds of ms for 30 MB), and the HTTP client then encodes that string to bytes once per
 * attempt, and a 402 round has two attempts. Here the small part of the document is stringified
 * with placeholders, each big string that is a base64 payload (checked natively, by its decoded
 * length) is sent as it is, and the body is streamed in 1 MB slices made on the fly, with an
 * exact Content-Length. Peak memory beyond the caller's own strings is one slice. Big strings that
 * would need escaping take the slow, exact path: `JSON.stringify` of that string alone.
 *
 * Images the proxy holds as bytes (edit inputs) go in as `InlineData`: they become data URI
 * strings in the JSON only on the wire, base64-encoded one slice at a time, so the text of a
 * 30 MB image (40 MB more) never exists.
 */
import { randomBytes } from 'node:crypto'

/** Bytes sent as a `data:<mime>;base64,...` string value in a JSON body. */
export class InlineData {
  constructor(
    readonly mime: string,
    readonly bytes: Uint8Array,
  ) {}

  /**
   * The data URI as one string, for tests and small uses. On purpose there is no `toJSON`:
   * JSON.stringify would call it before `encodeJsonBody`'s replacer sees the value, and build the
   * very string this class exists to avoid.
   */
  toDataUri(): string {
    return `data:${this.mime};base64,${Buffer.from(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength).toString('base64')}`
  }
}

/** A request body that can be sent more than once (a 402 round sends it twice). */
export type EncodedBody = {
  /** Exact byte length (Content-Length). */
  readonly length: number
  /** A fresh body for one attempt: the JSON text itself when small, else a stream of slices. */
  open(): string | ReadableStream<Uint8Array>
}

/** Strings at least this long are sent without being copied. */
const BIG_STRING = 256 * 1024
/** Slice size while sending (a multiple of 4, so base64 checks align). */
const SLICE = 1024 * 1024
/**
 * Bytes per slice of InlineData: 64 KiB of base64 text each. Small enough that the temporary
 * string stays in V8's young generation (over ~128 KiB it would live in large-object space until
 * a full collection), so a 30 MB image leaves almost no garbage behind while it streams.
 */
const INLINE_SLICE = 48 * 1024

type Segment = { text: string; encoding: 'utf8' | 'latin1'; bytes: number } | { data: Uint8Array; bytes: number }

export function encodeJsonBody(value: unknown): EncodedBody {
  const token = randomBytes(12).toString('hex')
  const big: Array<string | InlineData> = []
  const marker = (item: string | InlineData) => `@@${token}:${big.push(item) - 1}@@`
  const text = JSON.stringify(value, (_key, item: unknown) => (item instanceof InlineData || (typeof item === 'string' && item.length >= BIG_STRING) ? marker(item) : item))
  if (big.length === 0) return { length: Buffer.byteLength(text), open: () => text }

  const segments: Segment[] = []
  const addText = (part: string) => part && segments.push({ text: part, encoding: 'utf8', bytes: Buffer.byteLength(part) })
  const markers = new RegExp(`"@@${token}:(\\d+)@@"`, 'g')
  let last = 0
  for (const match of text.matchAll(markers)) {
    addText(text.slice(last, match.index))
    const item = big[Number(match[1])]!
    if (item instanceof InlineData) {
      const head = `"data:${item.mime};base64,`
      segments.push({ text: head, encoding: 'latin1', bytes: head.length }, { data: item.bytes, bytes: 4 * Math.ceil(item.bytes.byteLength / 3) }, { text: '"', encoding: 'latin1', bytes: 1 })
    } else if (isPlainAscii(item)) {
      segments.push({ text: '"', encoding: 'latin1', bytes: 1 }, { text: item, encoding: 'latin1', bytes: item.length }, { text: '"', encoding: 'latin1', bytes: 1 })
    } else {
      addText(JSON.stringify(item))
    }
    last = match.index + match[0].length
  }
  addText(text.slice(last))
  const length = segments.reduce((sum, segment) => sum + segment.bytes, 0)
  return { length, open: () => streamSegments(segments) }
}

function streamSegments(segments: readonly Segment[]): ReadableStream<Uint8Array> {
  let index = 0
  let offset = 0
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const segment = segments[index]
      if (!segment) return controller.close()
      if ('data' in segment) {
        const end = Math.min(offset + INLINE_SLICE, segment.data.byteLength)
        const slice = segment.data.subarray(offset, end)
        controller.enqueue(Buffer.from(Buffer.from(slice.buffer, slice.byteOffset, slice.byteLength).toString('base64'), 'latin1'))
        offset = end
        if (offset >= segment.data.byteLength) {
          index++
          offset = 0
        }
        return
      }
      let end = Math.min(offset + SLICE, segment.text.length)
      // Never cut a surrogate pair: each half alone would encode as U+FFFD.
      if (segment.encoding === 'utf8' && end < segment.text.length && isHighSurrogate(segment.text.charCodeAt(end - 1))) end--
      controller.enqueue(Buffer.from(offset === 0 && end === segment.text.length ? segment.text : segment.text.slice(offset, end), segment.encoding))
      offset = end
      if (offset >= segment.text.length) {
        index++
        offset = 0
      }
    },
  })
}

/**
 * True when `text` can go into a JSON string as is: a base64 payload, optionally behind a
 * `data:<type>;base64,` header of plain characters. Node's decoder skips every character outside
 * the base64 alphabet, so a payload whose decoded length is what its length predicts holds
 * nothing that JSON would escape (no quote, backslash, control or non-ASCII character): one
 * more character always means more decoded bytes, except from 4k to 4k+1, which is refused.
 */
function isPlainAscii(text: string): boolean {
  let start = 0
  if (text.startsWith('data:')) {
    const comma = text.indexOf(',')
    if (comma < 0 || comma > 1024 || !/^data:[\w!#$&^.+/-]*(;[\w!#$&^.+=-]+)*$/.test(text.slice(0, comma))) return false
    start = comma + 1
  }
  let end = text.length
  if (text.charCodeAt(end - 1) === 0x3d) end--
  if (text.charCodeAt(end - 1) === 0x3d) end--
  // A length of 4k+1 can hide one skipped character (it decodes like 4k), so it never passes.
  if ((end - start) % 4 === 1) return false
  for (let from = start; from < end; from += SLICE) {
    const piece = text.slice(from, Math.min(from + SLICE, end))
    if (Buffer.from(piece, 'base64').length !== decodedLength(piece.length)) return false
  }
  return true
}

/** Bytes that `n` base64 characters (no padding, n % 4 != 1) decode to. */
function decodedLength(n: number): number {
  return (n >> 2) * 3 + [0, 0, 1, 2][n % 4]!
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff
}
