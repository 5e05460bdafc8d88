import { absolutizeReference } from '../../inputs/reference.js'
import { PAID_CALL_FLAGS } from '../paid-call.js'
import { parseCommand, settingsFromFlags } from '../options.js'
import { runImageCommand } from './generate.js'

export async function run(args: string[]): Promise<number | void> {
  const { values, positionals } = parseCommand(args, {
    mask: { type: 'string' },
    // More reference images to combine with the first: --image logo.png --image pattern.jpg.
    image: { type: 'string', short: 'i', multiple: true },
    model: { type: 'string', short: 'm' },
    size: { type: 'string', short: 's' },
    n: { type: 'string' },
    out: { type: 'string', short: 'o' },
    json: { type: 'boolean' },
    ...PAID_CALL_FLAGS,
  })
  const [image, ...words] = positionals
  const prompt = words.join(' ')
  if (!image || !prompt) {
    process.stderr.write('usage: imagegen edit <image> "<prompt>" [--image MORE ...] [--mask PATH|URL] [--model M] [--size WxH] [--out PATH] [--quote] [--max-price USD]\n')
    return 2
  }
  // The proxy refuses relative paths (its working directory is not ours), so they are made
  // absolute here, where "photo.png" means the file next to the user.
  const cwd = process.cwd()
  const images = [image, ...(values.image ?? [])].map((reference) => absolutizeReference(reference, cwd))
  const input = {
    image: images.length === 1 ? images[0] : images,
    prompt,
    mask: values.mask === undefined ? undefined : absolutizeReference(values.mask, cwd),
    model: values.model,
    size: values.size,
    n: values.n === undefined ? undefined : Number(values.n),
    max_price: values['max-price'],
  }
  return runImageCommand(settingsFromFlags(values), 'edit', input, values)
}
