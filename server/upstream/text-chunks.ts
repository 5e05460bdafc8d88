/**
 * Bytes to text, chunk by chunk, for response bodies that are almost all ASCII (base64 images).
 * An ASCII chunk is converted as latin1 (a plain copy, several times faster than UTF-8 decoding);
 * any other chunk goes through a streaming TextDecoder. Switching back to the fast path is safe
 * only when the decoder holds no partial character, which is read off the previous chunk's end.
 */
import { isAscii } from 'node:buffer'

export class TextChunks {
  private readonly decoder = new TextDecoder('utf-8')
  /** The last chunk that went through the decoder ended inside a character. */
  private pending = false

  decode(chunk: Uint8Array): string {
    if (!this.pending && isAscii(chunk)) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString('latin1')
    this.pending = !endsOnBoundary(chunk)
    return this.decoder.decode(chunk, { stream: true })
  }

  end(): string {
    this.pending = false
    return this.decoder.decode()
  }
}

/**
 * True when `chunk` ends with a complete UTF-8 sequence (or is empty). Only when the decoder
 * already held bytes and this chunk had no lead byte at all can it be wrong, and then it says
 * false, which just keeps the decoder in use.
 */
function endsOnBoundary(chunk: Uint8Array): boolean {
  const n = chunk.length
  for (let back = 1; back <= Math.min(4, n); back++) {
    const byte = chunk[n - back]!
    if ((byte & 0xc0) === 0x80) continue // continuation byte: look further back
    const length = byte < 0x80 ? 1 : byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1
    return length === back
  }
  return n === 0
}
