import { copyFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { openCore } from '../../core/index.js'
import { toImagegenError } from '../../errors.js'
import type { ImageResult } from '../../service.js'
import { describeCost } from '../../service.js'
import { parseCommand, settingsFromFlags } from '../options.js'
import { createSpinner } from '../progress.js'

export async function run(args: string[]): Promise<number | void> {
  const { values, positionals } = parseCommand(args, {
    model: { type: 'string', short: 'm' },
    size: { type: 'string', short: 's' },
    'aspect-ratio': { type: 'string', short: 'a' },
    quality: { type: 'string', short: 'q' },
    n: { type: 'string' },
    out: { type: 'string', short: 'o' },
    json: { type: 'boolean' },
  })
  const prompt = positionals.join(' ')
  if (!prompt) {
    process.stderr.write('usage: imagegen generate "<prompt>" [--model M] [--size WxH | --aspect-ratio 16:9] [--quality hd] [--n N] [--out PATH]\n')
    return 2
  }
  const input = {
    prompt,
    model: values.model,
    size: values.size,
    aspect_ratio: values['aspect-ratio'],
    quality: values.quality,
    n: values.n === undefined ? undefined : Number(values.n),
  }
  return runImageCommand(settingsFromFlags(values), (core, options) => core.generate(input, options), values)
}

/** Shared by generate and edit: open the core, show progress, print where the images are. */
export async function runImageCommand(
  settings: ReturnType<typeof settingsFromFlags>,
  call: (core: Awaited<ReturnType<typeof openCore>>, options: Parameters<Awaited<ReturnType<typeof openCore>>['generate']>[1]) => Promise<ImageResult>,
  values: { out?: string | undefined; json?: boolean | undefined },
): Promise<number> {
  const core = await openCore(settings)
  const spinner = createSpinner()
  const abort = new AbortController()
  const onSignal = () => abort.abort(new DOMException('cancelled', 'AbortError'))
  process.once('SIGINT', onSignal)
  try {
    const result = await call(core, { signal: abort.signal, onProgress: (p) => spinner.update(p.message) })
    spinner.stop()
    const outputs = await copyOut(result, values.out)
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ ...result, estimate: result.estimate?.toString() ?? null, cost: result.cost ? { ...result.cost, amount: result.cost.amount.toString() } : null, outputs }, null, 2)}\n`)
    } else {
      for (const [index, image] of result.images.entries()) {
        process.stdout.write(`${outputs[index] ?? image.path}\n`)
        process.stderr.write(`  url  ${image.url}${core.mode === 'in-process' ? ' (served while `imagegen serve` runs)' : ''}\n`)
      }
      process.stderr.write(`  ${result.model} ${result.size}, cost ${describeCost(result.cost)}\n`)
      for (const note of result.notes) process.stderr.write(`  note ${note}\n`)
    }
    return 0
  } catch (error) {
    const mapped = toImagegenError(error)
    spinner.stop(`error: ${mapped.message}`)
    return 1
  } finally {
    process.off('SIGINT', onSignal)
    await core.close()
  }
}

async function copyOut(result: ImageResult, out: string | undefined): Promise<string[]> {
  if (!out) return []
  const targets = result.images.map((_, i) => (result.images.length === 1 ? resolve(out) : resolve(out).replace(/(\.[a-z]+)?$/i, (ext) => `-${i + 1}${ext}`)))
  await Promise.all(result.images.map((image, i) => copyFile(image.path, targets[i]!)))
  return targets
}
