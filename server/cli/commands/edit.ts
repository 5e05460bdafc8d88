import { parseCommand, settingsFromFlags } from '../options.js'
import { runImageCommand } from './generate.js'

export async function run(args: string[]): Promise<number | void> {
  const { values, positionals } = parseCommand(args, {
    mask: { type: 'string' },
    model: { type: 'string', short: 'm' },
    size: { type: 'string', short: 's' },
    n: { type: 'string' },
    out: { type: 'string', short: 'o' },
    json: { type: 'boolean' },
  })
  const [image, ...words] = positionals
  const prompt = words.join(' ')
  if (!image || !prompt) {
    process.stderr.write('usage: imagegen edit <image> "<prompt>" [--mask PATH|URL] [--size WxH] [--out PATH]\n')
    return 2
  }
  const input = { image, prompt, mask: values.mask, model: values.model, size: values.size, n: values.n === undefined ? undefined : Number(values.n) }
  return runImageCommand(settingsFromFlags(values), (core, options) => core.edit(input, options), values)
}
