/**
 * A still WebP with everything but its picture removed, without recompressing it: of the RIFF
 * chunks (WebP container spec, RFC 9649 §2.7) only the bitstream (`VP8 ` or `VP8L`), its alpha
 * (`ALPH`), the colour profile (`ICCP`) and the `VP8X` header (its EXIF and XMP flags cleared) are
 * kept; `EXIF`, `XMP `, unknown chunks and whatever follows the RIFF's declared size are dropped.
 *
 * Undefined for animations (`ANIM`/`ANMF`: the caller re-encodes the first frame) and for anything
 * that does not parse.
 */
const KEPT = new Set(['VP8 ', 'VP8L', 'ALPH', 'ICCP'])
const EXIF_FLAG = 0x08
const XMP_FLAG = 0x04

export function stripWebp(bytes: Buffer): Buffer | undefined {
  if (bytes.length < 20 || bytes.toString('latin1', 0, 4) !== 'RIFF' || bytes.toString('latin1', 8, 12) !== 'WEBP') return undefined
  const end = Math.min(bytes.length, 8 + bytes.readUInt32LE(4))
  const kept: Buffer[] = []
  let bitstream = false
  for (let at = 12; at < end; ) {
    if (at + 8 > end) return undefined
    const fourcc = bytes.toString('latin1', at, at + 4)
    const size = bytes.readUInt32LE(at + 4)
    const next = at + 8 + size + (size & 1)
    if (at + 8 + size > end) return undefined
    if (fourcc === 'ANIM' || fourcc === 'ANMF') return undefined
    if (fourcc === 'VP8X') {
      if (size < 10) return undefined
      const header = Buffer.from(bytes.subarray(at, at + 8 + size))
      header[8] = header[8]! & ~(EXIF_FLAG | XMP_FLAG)
      kept.push(header)
    } else if (KEPT.has(fourcc)) {
      kept.push(bytes.subarray(at, Math.min(next, end)))
      if (size & 1 && next > end) kept.push(Buffer.alloc(1))
      if (fourcc === 'VP8 ' || fourcc === 'VP8L') bitstream = true
    }
    at = next
  }
  if (!bitstream) return undefined
  const body = Buffer.concat(kept)
  const head = Buffer.alloc(12)
  head.write('RIFF', 0, 'latin1')
  head.writeUInt32LE(4 + body.length, 4)
  head.write('WEBP', 8, 'latin1')
  return Buffer.concat([head, body])
}
