/**
 * `imagegen edit <image> "<prompt>"`: one paid edit (or a blend of several images).
 */
import { DEFAULT_EDIT_MODEL } from '../../catalog/index.js'
import { absolutizeReference } from '../../inputs/reference.js'
import type { CommandSpec, Parsed } from '../flags.js'
import { RESULT_FLAGS, runImageCommand, SHAPE_FLAGS } from '../image-command.js'
import { PAID_CALL_FLAGS } from '../paid-call.js'
import { settingsFromFlags } from '../settings-flags.js'

export const spec = {
  usage: '<image> "<prompt>" [options]',
  description: [
    'The image is a file path, an http(s) URL, a data URI or an earlier result; more images to combine come with --image. ' +
      'Every input is checked (an image, within the size limit, from an allowed address) before anything is paid; the result is printed as with generate.',
  ],
  positionals: { min: 2, max: Number.POSITIVE_INFINITY, missing: 'the image and the prompt' },
  flags: {
    image: { type: 'string', short: 'i', multiple: true, value: 'IMAGE', description: 'Another image to combine with the first, in the order the prompt refers to them (OpenAI models take 4 in all, Google ones 3).' },
    mask: { type: 'string', value: 'PATH|URL', description: 'The area to change: white = edit, black = keep (or transparent = edit, as OpenAI takes it). OpenAI models only, with one image.' },
    model: { type: 'string', short: 'm', value: 'MODEL', description: 'Edit model: gpt-image, gpt-image-2, nano-banana, banana-pro.', default: DEFAULT_EDIT_MODEL },
    ...SHAPE_FLAGS,
    ...RESULT_FLAGS,
    ...PAID_CALL_FLAGS,
  },
  settings: 'all',
  examples: ['imagegen edit photo.jpg "make the sky stormy" --out stormy.png', 'imagegen edit shirt.jpg "put the logo on the shirt" --image logo.png --model nano-banana'],
} as const satisfies CommandSpec

export async function run({ values, positionals }: Parsed<typeof spec>): Promise<number> {
  const [image, ...words] = positionals
  // The proxy refuses relative paths (its working directory is not ours), so they are made
  // absolute here, where "photo.png" means the file next to the user.
  const cwd = process.cwd()
  const images = [image!, ...(values.image ?? [])].map((reference) => absolutizeReference(reference, cwd))
  const input = {
    image: images.length === 1 ? images[0] : images,
    prompt: words.join(' '),
    mask: values.mask === undefined ? undefined : absolutizeReference(values.mask, cwd),
    model: values.model,
    size: values.size,
    aspect_ratio: values['aspect-ratio'],
    n: values.n === undefined ? undefined : Number(values.n),
    max_price: values['max-price'],
  }
  return runImageCommand(settingsFromFlags(values), 'edit', input, values)
}
