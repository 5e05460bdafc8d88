/**
 * Masks in the gateway's convention. The gateway passes `mask` to OpenAI, whose edit API reads
 * only the mask's alpha channel: "fully transparent areas (alpha zero) indicate where the image
 * should be edited" (Franklin, BlockRun's agent: "transparent pixels mark the editable region").
 * The seed skill told callers the opposite-looking convention, "white = edit, black = keep", and
 * an opaque black-and-white PNG means nothing to OpenAI. Both are accepted, told apart so:
 *
 * - a mask with any pixel that is not fully opaque is in OpenAI's convention already: its alpha
 *   is sent as it is (transparent = edit, opaque = keep);
 * - any other mask (no alpha channel, or alpha opaque everywhere) is read by brightness: pixels
 *   lighter than mid-grey (luminance >= 128 of 255) are edited and become fully transparent,
 *   darker ones are kept and become fully opaque. A hard threshold, because OpenAI edits only
 *   where alpha is exactly zero: a soft edge, or JPEG noise turning white into 252, would otherwise
 *   leave "white" areas untouched.
 *
 * What is sent is always a PNG: black pixels with that alpha (nothing else of the caller's file
 * travels), oriented like the image, at the size the image is sent at (nearest-neighbour, so the
 * alpha stays what it was). A mask that marks nothing to edit is refused before paying: the edit
 * would change nothing.
 */
import type { CheckedImage } from './image-check.js'
import { MAX_INPUT_PIXELS } from './image-check.js'
import { refuseInput } from './refusal.js'
import { loadSharp } from '../image-library.js'

export type MaskConvention = 'transparency' | 'brightness'

export type PreparedMask = { bytes: Buffer; width: number; height: number; convention: MaskConvention }

/** Edited where luminance is at least this (of 255). */
const EDIT_THRESHOLD = 128

/** The mask's size as displayed (its EXIF orientation applied), to compare with the image's. */
export async function orientedSize(image: CheckedImage): Promise<{ width: number; height: number }> {
  const sharp = await loadSharp()
  const metadata = await sharp(image.bytes, { limitInputPixels: MAX_INPUT_PIXELS }).metadata()
  return metadata.autoOrient ?? { width: image.width, height: image.height }
}

/**
 * `imageSize` is the image's displayed size as given (the mask must match it), `target` the size
 * the image is sent at (smaller when it was downscaled).
 */
export async function prepareMask(mask: CheckedImage, imageSize: { width: number; height: number }, target: { width: number; height: number }): Promise<PreparedMask> {
  const size = await orientedSize(mask)
  if (size.width !== imageSize.width || size.height !== imageSize.height)
    throw refuseInput('mask', `the mask is ${size.width}x${size.height} but the image is ${imageSize.width}x${imageSize.height}; they must be the same size.`, 'mask_size_mismatch')

  const sharp = await loadSharp()
  const open = () => sharp(mask.bytes, { limitInputPixels: MAX_INPUT_PIXELS, failOn: 'error' }).autoOrient()
  const [{ isOpaque }, { channels = 4 }] = await Promise.all([open().stats(), open().metadata()])
  const convention: MaskConvention = isOpaque ? 'brightness' : 'transparency'
  // One band, 0 where the image is to be edited: the alpha as given (the last band, whether the
  // mask is RGBA or grey+alpha), or brightness thresholded and inverted.
  const band = convention === 'transparency' ? open().extractChannel((channels - 1) as 1 | 3) : open().removeAlpha().greyscale().threshold(EDIT_THRESHOLD).negate()
  const alpha = await band.resize(target.width, target.height, { fit: 'fill', kernel: 'nearest' }).raw().toBuffer()
  if (alpha.indexOf(0) < 0) {
    const why = convention === 'transparency' ? 'it has transparent pixels, so it is read as transparent = edit, but none is fully transparent' : 'it is read as white = edit, black = keep, and it has no white (or light) area'
    throw refuseInput('mask', `the mask marks nothing to edit: ${why}.`, 'mask_empty')
  }
  const bytes = await sharp({ create: { width: target.width, height: target.height, channels: 3, background: { r: 0, g: 0, b: 0 } } })
    .joinChannel(alpha, { raw: { width: target.width, height: target.height, channels: 1 } })
    .png()
    .toBuffer()
  return { bytes, width: target.width, height: target.height, convention }
}
