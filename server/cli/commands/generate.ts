/**
 * `imagegen generate "<prompt>"`: one paid generation, printed as file paths.
 */
import { DEFAULT_MODEL, QUALITIES } from '../../catalog/index.js'
import type { CommandSpec, Parsed } from '../flags.js'
import { RESULT_FLAGS, runImageCommand, SHAPE_FLAGS } from '../image-command.js'
import { PAID_CALL_FLAGS } from '../paid-call.js'
import { settingsFromFlags } from '../settings-flags.js'

export const spec = {
  usage: '"<prompt>" [options]',
  description: [
    'Pays for the images from your wallet within your limits, keeps them in $BLOCKRUN_HOME/images and prints each path on stdout (its URL, the model, size, cost and notes on stderr). ' +
      'A proxy of ours running on --port is used; otherwise the same pipeline runs in this process, with the same wallet, budget and ledger. Every value is checked before anything is paid.',
  ],
  positionals: { min: 1, max: Number.POSITIVE_INFINITY, missing: 'the prompt' },
  flags: {
    model: { type: 'string', short: 'm', value: 'MODEL', description: 'Model id or alias: nano-banana, banana-pro, gpt-image, gpt-image-2, seedream, grok-imagine, cogview...', default: `the --default-model setting (${DEFAULT_MODEL})` },
    ...SHAPE_FLAGS,
    quality: { type: 'string', short: 'q', value: 'QUALITY', choices: QUALITIES, description: 'For models that take it (cogview: standard or hd; low and medium map to standard, high to hd); other models say it was not applied.' },
    ...RESULT_FLAGS,
    ...PAID_CALL_FLAGS,
  },
  settings: 'all',
  examples: [
    'imagegen generate "a lighthouse at dusk" --model seedream --aspect-ratio 16:9 --out lighthouse.jpg',
    'imagegen generate "three app icons, flat style" --model cogview --n 3 --json',
    'imagegen generate "a poster" --model banana-pro --size 4096x4096 --quote',
  ],
} as const satisfies CommandSpec

export async function run({ values, positionals }: Parsed<typeof spec>): Promise<number> {
  const input = {
    prompt: positionals.join(' '),
    model: values.model,
    size: values.size,
    aspect_ratio: values['aspect-ratio'],
    quality: values.quality,
    n: values.n === undefined ? undefined : Number(values.n),
    max_price: values['max-price'],
  }
  return runImageCommand(settingsFromFlags(values), 'generate', input, values)
}
