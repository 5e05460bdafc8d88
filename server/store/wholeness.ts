/**
 * Whether an image file ends where its format says it ends. The store sniffs the first bytes to
 * know the type; that alone lets an upstream pass off a PNG signature followed by anything (a
 * hundred megabytes of junk, say) as an image. Reading the end of the file is cheap and needs no
 * decoding:
 * - PNG ends with its IEND chunk (length 0, type IEND, fixed CRC);
 * - JPEG ends with the EOI marker (FF D9);
 * - WebP's RIFF header states the file's length (plus one pad byte when odd).
 *
 * @see https://www.w3.org/TR/png-3/#11IEND
 * @see https://developers.google.com/speed/webp/docs/riff_container
 */
import type { ImageType } from './sniff.js'

const PNG_IEND = Buffer.from([0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82])
const TAIL_BYTES = PNG_IEND.length

/** Follows the bytes of one image as they are written, keeping only its head and tail. */
export class WholenessCheck {
  private head = Buffer.alloc(0)
  private tail = Buffer.alloc(0)
  private size = 0

  push(chunk: Uint8Array): void {
    if (chunk.byteLength === 0) return
    this.size += chunk.byteLength
    if (this.head.length < 12) this.head = Buffer.concat([this.head, Buffer.from(chunk.subarray(0, 12 - this.head.length))])
    const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    this.tail = bytes.length >= TAIL_BYTES ? Buffer.from(bytes.subarray(bytes.length - TAIL_BYTES)) : Buffer.concat([this.tail, bytes]).subarray(-TAIL_BYTES)
  }

  /** Why the image is not whole, or undefined when it is. */
  problem(type: ImageType): string | undefined {
    if (type.ext === 'png') return this.tail.equals(PNG_IEND) ? undefined : 'the PNG does not end with its IEND chunk (truncated, or with data after the image)'
    if (type.ext === 'jpg') return this.tail.length >= 2 && this.tail[this.tail.length - 2] === 0xff && this.tail[this.tail.length - 1] === 0xd9 ? undefined : 'the JPEG does not end with its end-of-image marker'
    const declared = this.head.length >= 8 ? this.head.readUInt32LE(4) + 8 : -1
    return this.size === declared || this.size === declared + 1 ? undefined : `the WebP's header says ${declared} bytes but it has ${this.size}`
  }
}
