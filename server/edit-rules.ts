/**
 * What an edit may carry on the model it runs on, checked from the request alone, before any
 * input is read and before anything is paid. The gateway's own rules, as BlockRun's agent Franklin
 * mirrors them (src/tools/imagegen.ts: EDIT_SUPPORTED_MODELS, MASK_SUPPORTED_MODELS,
 * MAX_IMAGES_BY_PREFIX), live in the catalog as `edit`, `mask` and `maxInputImages`:
 * - OpenAI models fuse up to 4 reference images, Google models up to 3;
 * - a mask is OpenAI-only ("Gemini does prompt-based edits with no mask concept");
 * - a mask marks one image's region, so it never comes with several images.
 */
import type { ModelEntry } from './catalog/index.js'
import { invalidRequest } from './errors.js'

export type EditShape = {
  /** Reference images in the request. */
  images: number
  /** Whether a mask was given. */
  mask: boolean
}

/** `models` are the catalog's on offer now, named in the refusals. */
export function checkEditRules(model: ModelEntry, { images, mask }: EditShape, models: readonly ModelEntry[]): void {
  if (images > model.maxInputImages) {
    const roomier = models.filter((m) => m.maxInputImages >= images).map((m) => m.id)
    throw invalidRequest(
      `${model.id} takes at most ${model.maxInputImages} reference image${model.maxInputImages === 1 ? '' : 's'} per edit; this request has ${images}.` +
        (roomier.length ? ` Models that take ${images}: ${roomier.join(', ')}.` : ''),
      'image',
      'too_many_images',
    )
  }
  if (mask && !model.mask) {
    const masking = models.filter((m) => m.mask).map((m) => m.id)
    throw invalidRequest(
      `${model.id} does not take a mask: it edits from the prompt alone. Leave the mask out (say in the prompt what to change), or use a model that takes one: ${masking.join(', ')}.`,
      'mask',
      'mask_not_supported',
    )
  }
  if (mask && images > 1) {
    throw invalidRequest(
      `A mask marks the area to edit in one image; it cannot be combined with ${images} images. Send one image with the mask, or the ${images} images without it.`,
      'mask',
      'mask_with_several_images',
    )
  }
}
