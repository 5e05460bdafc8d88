/**
 * The mask marks what to edit (white) and what to keep (black). It must cover the image pixel for
 * pixel, so its dimensions must equal the image's; and the upstream (OpenAI's edit API behind the
 * gateway) takes masks as PNG only, so a JPEG or WebP mask is converted. The image itself is sent
 * in its own format: converting it would only cost quality.
 */
import { PNG } from '../store/sniff.js'
import type { CheckedImage } from './image-check.js'
import { refuseInput } from './refusal.js'

export async function prepareMask(image: CheckedImage, mask: CheckedImage): Promise<CheckedImage> {
  if (mask.width !== image.width || mask.height !== image.height)
    throw refuseInput('mask', `the mask is ${mask.width}x${mask.height} but the image is ${image.width}x${image.height}; they must be the same size.`, 'mask_size_mismatch')
  if (mask.type === PNG) return mask
  const { default: sharp } = await import('sharp')
  return { ...mask, type: PNG, bytes: await sharp(mask.bytes).png().toBuffer() }
}
