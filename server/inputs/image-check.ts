/**
 * Only images go upstream. The type comes from the bytes (a file name or a Content-Type can say
 * anything), and the whole image is decoded once, so a truncated or corrupt file is refused here
 * rather than paid for and rejected upstream.
 */
import { sniffImage, type ImageType } from '../store/sniff.js'
import { refuseInput, type InputField } from './refusal.js'
import { loadSharp } from '../image-library.js'

export type CheckedImage = { bytes: Buffer; type: ImageType; width: number; height: number }

/**
 * Most pixels an input may have. A small file can declare a huge canvas (a decompression bomb);
 * decoding it would tie up the proxy for seconds. 100 MP is well past any camera photo.
 */
export const MAX_INPUT_PIXELS = 100_000_000

/** `label` names the input in messages: a quoted path, a URL, "the data URI". */
export async function checkImage(field: InputField, bytes: Buffer, label: string): Promise<CheckedImage> {
  if (bytes.length === 0) throw refuseInput(field, `${label} is empty.`, 'input_empty')
  const type = sniffImage(bytes.subarray(0, 12))
  if (!type) throw refuseInput(field, `${label} is not a PNG, JPEG or WebP image (${describeContent(bytes)}).`, 'input_not_image')
  const sharp = await loadSharp()
  const undecodable = () => refuseInput(field, `${label} looks like a ${type.ext.toUpperCase()} file but does not decode (truncated or corrupt).`, 'input_undecodable')
  const metadata = await sharp(bytes, { limitInputPixels: false }).metadata().catch(() => undefined)
  if (!metadata?.width || !metadata.height) throw undecodable()
  const { width, height } = metadata
  if (width * height > MAX_INPUT_PIXELS)
    throw refuseInput(field, `${label} is ${width}x${height} pixels; edit inputs may have at most ${MAX_INPUT_PIXELS / 1_000_000} megapixels.`, 'input_too_many_pixels')
  // Decodes every pixel, top to bottom, into an 8x8 thumbnail that is thrown away: a truncated or
  // corrupt file fails (failOn 'error' still tolerates harmless warnings), and only a few rows are
  // in memory at a time, never the whole raw image (a 6000x4000 photo is 96 MB of pixels).
  await sharp(bytes, { failOn: 'error', limitInputPixels: MAX_INPUT_PIXELS, sequentialRead: true })
    .resize(8, 8, { fit: 'fill' })
    .raw()
    .toBuffer()
    .catch(() => {
      throw undecodable()
    })
  return { bytes, type, width, height }
}

/** A hint at what the bytes are, without quoting them. */
function describeContent(bytes: Buffer): string {
  const head = bytes.subarray(0, 64).toString('latin1')
  if (head.startsWith('GIF8')) return 'it is a GIF; convert it to PNG first'
  if (/^\s*(<\?xml|<svg)/i.test(head)) return 'it is SVG or XML; convert it to PNG first'
  if (/^\s*<(!doctype|html)/i.test(head)) return 'it is an HTML page'
  if (head.startsWith('%PDF')) return 'it is a PDF'
  if (/^....ftyp(heic|heix|mif1|avif)/.test(head)) return 'it is HEIC/AVIF; convert it to JPEG or PNG first'
  const sample = bytes.subarray(0, 512)
  const printable = sample.filter((b) => b === 9 || b === 10 || b === 13 || (b >= 32 && b < 127)).length
  return printable === sample.length ? 'it is text' : 'unrecognised data'
}
