/**
 * Only pixels leave the machine. An input's bytes may carry more than its picture: text chunks,
 * EXIF (GPS position, camera serial, capture time), XMP, thumbnails, data appended after the
 * image's end (a key appended to a PNG would reach the upstream). Each input is rebuilt from what
 * the picture needs, the colour profile included, and nothing else:
 * - PNG is decoded and encoded again: lossless, so every pixel is exactly what it was (16-bit
 *   images stay 16-bit);
 * - JPEG and WebP keep their compressed picture byte for byte (./strip-jpeg.ts, ./strip-webp.ts),
 *   so they lose nothing either; the result is decoded once more to prove it is whole;
 * - a JPEG or WebP that must be re-encoded anyway (an EXIF orientation to apply, an animation, a
 *   file the strippers cannot parse) is encoded once at high quality (WebP from a lossless source
 *   stays lossless), and says so in `reencoded`.
 * An EXIF orientation is applied, since the tag that carried it does not travel: the upstream sees
 * the picture the way the user's viewer shows it, and the mask is compared against that.
 */
import type { Sharp } from 'sharp'
import { JPEG, PNG, WEBP, type ImageType } from '../store/sniff.js'
import { MAX_INPUT_PIXELS, type CheckedImage } from './image-check.js'
import { stripJpeg } from './strip-jpeg.js'
import { stripWebp } from './strip-webp.js'
import { loadSharp } from '../image-library.js'

/** An image as it goes upstream. `reencoded` says how, when that cost any quality. */
export type CleanImage = { bytes: Buffer; type: ImageType; width: number; height: number; reencoded?: string | undefined }

/** Quality of the one lossy re-encode a JPEG or lossy WebP may need. */
const REENCODE_QUALITY = 95

export async function cleanImage(image: CheckedImage): Promise<CleanImage> {
  const sharp = await loadSharp()
  // failOn 'error' as in image-check: harmless decoder warnings do not refuse an image here either.
  const open = (bytes: Buffer) => sharp(bytes, { limitInputPixels: MAX_INPUT_PIXELS, failOn: 'error' })
  const metadata = await open(image.bytes).metadata()
  const oriented = (metadata.orientation ?? 1) !== 1
  const animated = (metadata.pages ?? 1) > 1

  if (image.type === PNG) {
    // sharp would write 8 bits per sample; a 16-bit PNG keeps its 16.
    const deep = metadata.depth === 'ushort' ? ((metadata.channels ?? 3) >= 3 ? 'rgb16' : 'grey16') : undefined
    return encoded(open(image.bytes).autoOrient(), PNG, deep)
  }

  if (!oriented && !animated) {
    const stripped = image.type === JPEG ? stripJpeg(image.bytes) : image.type === WEBP ? stripWebp(image.bytes) : undefined
    if (stripped && (await decodesWhole(open, stripped))) return { bytes: stripped, type: image.type, width: image.width, height: image.height }
  }
  const why = oriented ? 'to apply its EXIF orientation' : animated ? 'as a still of its first frame' : 'because its metadata could not be removed without decoding it'
  if (image.type === WEBP && isLosslessWebp(image.bytes)) return encoded(open(image.bytes).autoOrient(), WEBP, undefined, { lossless: true })
  const result = await encoded(open(image.bytes).autoOrient(), image.type, undefined, { quality: REENCODE_QUALITY })
  return { ...result, reencoded: `re-encoded as ${image.type.mime.slice('image/'.length).toUpperCase()} at quality ${REENCODE_QUALITY} ${why}` }
}

async function encoded(pipeline: Sharp, type: ImageType, colourspace?: 'rgb16' | 'grey16', options: { quality?: number; lossless?: boolean } = {}): Promise<CleanImage> {
  let output = pipeline.keepIccProfile()
  if (colourspace) output = output.toColourspace(colourspace)
  output =
    type === PNG
      ? output.png()
      : type === JPEG
        ? output.jpeg({ quality: options.quality, chromaSubsampling: '4:4:4' })
        : output.webp(options.lossless ? { lossless: true, exact: true } : { quality: options.quality })
  const { data, info } = await output.toBuffer({ resolveWithObject: true })
  return { bytes: data, type, width: info.width, height: info.height }
}

/** Decodes every row (into a throwaway thumbnail, as image-check does): a stripped file that lost something it needed fails here. */
async function decodesWhole(open: (bytes: Buffer) => Sharp, bytes: Buffer): Promise<boolean> {
  return open(bytes)
    .resize(8, 8, { fit: 'fill' })
    .raw()
    .toBuffer()
    .then(
      () => true,
      () => false,
    )
}

/** A WebP whose bitstream is VP8L (lossless), simple or extended. */
function isLosslessWebp(bytes: Buffer): boolean {
  return bytes.toString('latin1', 12, 16) === 'VP8L' || (bytes.toString('latin1', 12, 16) === 'VP8X' && bytes.includes('VP8L', 30, 'latin1') && !bytes.includes('VP8 ', 30, 'latin1'))
}
