/**
 * A JPEG with everything but its picture removed, without recompressing it (so without any loss):
 * the segments a decoder needs (ITU-T T.81 B.2: frame and scan headers, quantisation and Huffman
 * tables, restart interval, the entropy-coded scans) are copied byte for byte, and of the
 * application segments only those that change how the pixels decode are kept:
 * - APP2 `ICC_PROFILE` (the colour profile; ICC.1 B.4),
 * - APP14 `Adobe` (its transform flag says whether the components are YCbCr, RGB or YCCK),
 * - APP0 `JFIF`, rebuilt without its thumbnail (its density fields only).
 * Dropped: EXIF and XMP (APP1: GPS position, camera serial, capture time, a thumbnail of the
 * uncropped photo), IPTC (APP13), comments, every other APPn, and whatever follows EOI.
 *
 * Bytes a crafted file hides inside an entropy-coded scan cannot be told from image data without
 * decoding it; like data hidden in the pixels themselves, they are out of reach of anything but a
 * lossy re-encode, and they are not what leaks from ordinary photos.
 *
 * Undefined when the file does not parse as a JPEG this way (the caller then re-encodes it).
 */
const SOS = 0xda
const EOI = 0xd9

/** Markers a decoder needs: SOFn (not DHT 0xc4, JPG 0xc8, DAC 0xcc, listed on their own), DHT, DAC, DQT, DNL, DRI, SOS. */
function isDecodingSegment(marker: number): boolean {
  if (marker >= 0xc0 && marker <= 0xcf) return marker !== 0xc8
  return marker === 0xdb || marker === 0xdc || marker === 0xdd || marker === SOS
}

function startsWith(payload: Buffer, text: string): boolean {
  return payload.length >= text.length && payload.toString('latin1', 0, text.length) === text
}

/** The segment as it is kept (marker and length included), or undefined to drop it. */
function keptSegment(marker: number, segment: Buffer): Buffer | undefined {
  const payload = segment.subarray(4)
  if (isDecodingSegment(marker)) return segment
  if (marker === 0xe2 && startsWith(payload, 'ICC_PROFILE\0')) return segment
  if (marker === 0xee && startsWith(payload, 'Adobe')) return segment
  if (marker === 0xe0 && startsWith(payload, 'JFIF\0') && payload.length >= 14) {
    // Identifier, version, units and densities (JFIF 1.02 §A.4); thumbnail size 0x0.
    const jfif = Buffer.concat([Buffer.from([0xff, 0xe0, 0x00, 0x10]), payload.subarray(0, 12), Buffer.from([0, 0])])
    return jfif
  }
  return undefined
}

export function stripJpeg(bytes: Buffer): Buffer | undefined {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return undefined
  const kept: Buffer[] = [bytes.subarray(0, 2)]
  let at = 2
  while (at < bytes.length) {
    if (bytes[at] !== 0xff) return undefined
    while (bytes[at] === 0xff) at++ // fill bytes before a marker (T.81 B.1.1.2)
    const marker = bytes[at]
    if (marker === undefined) return undefined
    at++
    if (marker === EOI) {
      kept.push(Buffer.from([0xff, EOI]))
      return Buffer.concat(kept)
    }
    // Standalone markers (TEM, RSTn outside a scan) carry no length.
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue
    if (at + 2 > bytes.length) return undefined
    const length = bytes.readUInt16BE(at)
    if (length < 2 || at + length > bytes.length) return undefined
    const segment = Buffer.concat([Buffer.from([0xff, marker]), bytes.subarray(at, at + length)])
    const keep = keptSegment(marker, segment)
    if (keep) kept.push(keep)
    at += length
    if (marker === SOS) {
      const end = scanEnd(bytes, at)
      kept.push(bytes.subarray(at, end))
      at = end
    }
  }
  return undefined // no EOI: truncated
}

/** Where the entropy-coded data after an SOS header ends: the first marker that is neither stuffing (FF00) nor a restart (FFD0–FFD7). */
function scanEnd(bytes: Buffer, from: number): number {
  let at = from
  for (;;) {
    at = bytes.indexOf(0xff, at)
    if (at < 0 || at + 1 >= bytes.length) return bytes.length
    const next = bytes[at + 1]!
    if (next === 0x00 || (next >= 0xd0 && next <= 0xd7)) {
      at += 2
      continue
    }
    return at
  }
}
