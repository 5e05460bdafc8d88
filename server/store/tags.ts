/**
 * The model and the receipt id, written into each result file's own metadata as the bytes stream
 * into the store, without decoding or re-encoding a pixel (the prompt is never written: files get
 * shared, the prompt stays in the local index):
 *
 * - PNG: `tEXt` chunks (`Software`, `Source` = the model, `Receipt`) just before `IEND`;
 * - JPEG: a `COM` segment after the leading APPn segments (JFIF/EXIF stay first);
 * - WebP: an `XMP ` chunk at the end, the file turned into the extended format (`VP8X`, with
 *   its XMP flag) when it was a simple one, and the RIFF size raised to match.
 *
 * A file whose layout is not the expected one is passed through untagged: tags never cost an image.
 *
 * @see https://www.w3.org/TR/png-3/#11tEXt
 * @see https://www.w3.org/Graphics/JPEG/itu-t81.pdf (B.2.4.5, COM)
 * @see https://developers.google.com/speed/webp/docs/riff_container#extended_file_format
 */
import type { ImageType } from './sniff.js'

export type ImageTags = { model: string; receipt: string }

/** Transforms one image's bytes as they arrive: `push` returns what may be written now, `end` the rest. */
export type Tagger = { push(chunk: Uint8Array): Uint8Array[]; end(): Uint8Array[] }

export const TAG_SOFTWARE = 'blockrun-imagegen'

export function tagger(type: ImageType, tags: ImageTags): Tagger {
  if (type.ext === 'png') return pngTagger(tags)
  if (type.ext === 'jpg') return jpegTagger(tags)
  return webpTagger(tags)
}

/** The tags as one line of text (JPEG comment). */
export function tagText(tags: ImageTags): string {
  return `${TAG_SOFTWARE}; model=${tags.model}; receipt=${tags.receipt}`
}

// ---- PNG ----

const PNG_IEND = Buffer.from([0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82])

function pngTagger(tags: ImageTags): Tagger {
  let held = Buffer.alloc(0)
  return {
    push(chunk) {
      // Everything but the last 12 bytes goes out; those may be IEND.
      const all = Buffer.concat([held, chunk])
      held = Buffer.from(all.subarray(Math.max(0, all.length - PNG_IEND.length)))
      return all.length > PNG_IEND.length ? [all.subarray(0, all.length - PNG_IEND.length)] : []
    },
    end() {
      if (!held.equals(PNG_IEND)) return [held]
      return [pngText('Software', TAG_SOFTWARE), pngText('Source', tags.model), pngText('Receipt', tags.receipt), held]
    },
  }
}

/** One tEXt chunk: Latin-1 keyword, NUL, Latin-1 text (ours are ASCII). */
export function pngText(keyword: string, text: string): Buffer {
  const data = Buffer.from(`${keyword}\0${text}`, 'latin1')
  const chunk = Buffer.alloc(12 + data.length)
  chunk.writeUInt32BE(data.length, 0)
  chunk.write('tEXt', 4, 'ascii')
  data.copy(chunk, 8)
  chunk.writeUInt32BE(crc32(chunk.subarray(4, 8 + data.length)), 8 + data.length)
  return chunk
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  return c >>> 0
})

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff
  for (const byte of bytes) c = CRC_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

// ---- JPEG ----

/** How far into a JPEG the APPn segments are looked through before giving up on the tag. */
const JPEG_HEAD_LIMIT = 1024 * 1024

function jpegTagger(tags: ImageTags): Tagger {
  let head: Buffer | undefined = Buffer.alloc(0)
  let position = 2
  const comment = Buffer.from(tagText(tags), 'utf8')
  const segment = Buffer.alloc(4 + comment.length)
  segment.writeUInt16BE(0xfffe, 0)
  segment.writeUInt16BE(comment.length + 2, 2)
  comment.copy(segment, 4)
  return {
    push(chunk) {
      if (!head) return [chunk]
      head = Buffer.concat([head, chunk])
      // Walk SOI, then APP0–APP15 segments; the comment goes before the first other marker.
      while (head.length >= position + 4) {
        if (head[position] !== 0xff) return flush(false)
        const marker = head[position + 1]!
        if (marker < 0xe0 || marker > 0xef) return flush(true)
        position += 2 + head.readUInt16BE(position + 2)
      }
      return head.length > JPEG_HEAD_LIMIT ? flush(false) : []
    },
    end: () => (head ? flush(false) : []),
  }
  function flush(insert: boolean): Buffer[] {
    const bytes = head!
    head = undefined
    return insert ? [bytes.subarray(0, position), segment, bytes.subarray(position)] : [bytes]
  }
}

// ---- WebP ----

const WEBP_HEAD = 30
const XMP_FLAG = 0x04
const ALPHA_FLAG = 0x10

function webpTagger(tags: ImageTags): Tagger {
  const xmp = riffChunk('XMP ', Buffer.from(xmpPacket(tags), 'utf8'))
  let head: Buffer | undefined = Buffer.alloc(0)
  let declared = 0
  let total = 0
  let tagging = false
  /** The last byte seen, held until the end: it may be a pad byte or a stray one. */
  let last: Buffer | undefined
  const hold = (bytes: Buffer): Buffer[] => {
    if (!tagging) return [bytes]
    const out: Buffer[] = []
    if (last && bytes.length) out.push(last)
    if (bytes.length) {
      out.push(bytes.subarray(0, bytes.length - 1))
      last = Buffer.from(bytes.subarray(bytes.length - 1))
    }
    return out
  }
  return {
    push(chunk) {
      total += chunk.byteLength
      const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
      if (!head) return hold(bytes)
      head = Buffer.concat([head, bytes])
      if (head.length < WEBP_HEAD) return []
      const start = head
      head = undefined
      const converted = extendedHead(start, xmp.length)
      if (!converted) return [start]
      tagging = true
      declared = start.readUInt32LE(4)
      return hold(converted)
    },
    end() {
      if (head) return [head]
      if (!tagging) return []
      const out: Buffer[] = []
      // The original data ends at 8 + declared; an odd size needs its pad byte before another chunk.
      const original = declared + 8
      if (total === original) out.push(last!, ...(declared % 2 ? [Buffer.alloc(1)] : []))
      else if (total === original + 1 && declared % 2) out.push(last!)
      // (an even size with one byte more: the stray byte is dropped)
      out.push(xmp)
      return out
    },
  }
}

/**
 * The first 30 bytes of a WebP rewritten for an added XMP chunk of `xmpBytes`: the RIFF size
 * raised, the XMP flag set on VP8X, or a VP8X chunk put in front of a simple VP8/VP8L image.
 * Undefined when the layout is not one we know, or it already has XMP.
 */
function extendedHead(head: Buffer, xmpBytes: number): Buffer | undefined {
  const declared = head.readUInt32LE(4)
  const padded = declared + (declared % 2)
  const fourcc = head.toString('ascii', 12, 16)
  if (fourcc === 'VP8X') {
    if (head[20]! & XMP_FLAG) return undefined
    const out = Buffer.from(head)
    out[20] = head[20]! | XMP_FLAG
    out.writeUInt32LE(padded + xmpBytes, 4)
    return out
  }
  let width: number
  let height: number
  let alpha = false
  if (fourcc === 'VP8 ') {
    if (head[23] !== 0x9d || head[24] !== 0x01 || head[25] !== 0x2a) return undefined
    width = head.readUInt16LE(26) & 0x3fff
    height = head.readUInt16LE(28) & 0x3fff
  } else if (fourcc === 'VP8L') {
    if (head[20] !== 0x2f) return undefined
    const bits = head.readUInt32LE(21)
    width = (bits & 0x3fff) + 1
    height = ((bits >>> 14) & 0x3fff) + 1
    alpha = ((bits >>> 28) & 1) === 1
  } else return undefined
  const vp8x = Buffer.alloc(18)
  vp8x.write('VP8X', 0, 'ascii')
  vp8x.writeUInt32LE(10, 4)
  vp8x[8] = XMP_FLAG | (alpha ? ALPHA_FLAG : 0)
  vp8x.writeUIntLE(width - 1, 12, 3)
  vp8x.writeUIntLE(height - 1, 15, 3)
  const out = Buffer.concat([head.subarray(0, 12), vp8x, head.subarray(12)])
  out.writeUInt32LE(padded + vp8x.length + xmpBytes, 4)
  return out
}

function riffChunk(fourcc: string, data: Buffer): Buffer {
  const chunk = Buffer.alloc(8 + data.length + (data.length % 2))
  chunk.write(fourcc, 0, 'ascii')
  chunk.writeUInt32LE(data.length, 4)
  data.copy(chunk, 8)
  return chunk
}

/** An XMP packet naming the tool, the model and the receipt (our own namespace for the last two). */
function xmpPacket({ model, receipt }: ImageTags): string {
  const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;')
  return (
    '<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">' +
    `<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:imagegen="https://blockrun.ai/ns/imagegen/1.0/" xmp:CreatorTool="${TAG_SOFTWARE}" imagegen:model="${escape(model)}" imagegen:receipt="${escape(receipt)}"/>` +
    '</rdf:RDF></x:xmpmeta><?xpacket end="r"?>'
  )
}

/** The tags a file carries, read back from its bytes (tests, receipts): undefined when none. */
export function readTags(bytes: Buffer): Partial<ImageTags> | undefined {
  const text = bytes.toString('latin1')
  const png = /tEXtSource\0([^\0]*?)[\s\S]{8}tEXtReceipt\0([\x21-\x7e]+?)[\s\S]{4}\0\0\0\0IEND/.exec(text)
  if (png) return { model: png[1], receipt: png[2] }
  const line = /blockrun-imagegen; model=([^;]+); receipt=([\x21-\x7e]+)/.exec(text)
  if (line) return { model: line[1], receipt: line[2] }
  const xmp = /imagegen:model="([^"]*)" imagegen:receipt="([^"]*)"/.exec(text)
  if (xmp) return { model: xmp[1], receipt: xmp[2] }
  return undefined
}
