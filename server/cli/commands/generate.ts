import { copyFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { withConsent } from '../../core/consent.js'
import type { ImagegenCore } from '../../core/index.js'
import { toImagegenError } from '../../errors.js'
import { describeQuote, quoteJson } from '../../quote.js'
import type { ImageResult } from '../../service.js'
import { describeCost } from '../../service.js'
import { askConsent, PAID_CALL_FLAGS } from '../paid-call.js'
import { openCommandCore, parseCommand, settingsFromFlags } from '../options.js'
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
    ...PAID_CALL_FLAGS,
  })
  const prompt = positionals.join(' ')
  if (!prompt) {
    process.stderr.write('usage: imagegen generate "<prompt>" [--model M] [--size WxH | --aspect-ratio 16:9] [--quality hd] [--n N] [--out PATH] [--quote] [--max-price USD]\n')
    return 2
  }
  const input = {
    prompt,
    model: values.model,
    size: values.size,
    aspect_ratio: values['aspect-ratio'],
    quality: values.quality,
    n: values.n === undefined ? undefined : Number(values.n),
    max_price: values['max-price'],
  }
  return runImageCommand(settingsFromFlags(values), 'generate', input, values)
}

/**
 * Shared by generate and edit: open the core, show progress, print where the images are. With
 * `--quote`, print the price instead (nothing signed). A price above the confirmation threshold
 * is asked at the terminal (paid-call.ts).
 */
export async function runImageCommand(
  settings: ReturnType<typeof settingsFromFlags>,
  kind: 'generate' | 'edit',
  input: Record<string, unknown>,
  values: { out?: string | undefined; json?: boolean | undefined; quote?: boolean | undefined },
): Promise<number> {
  const core: ImagegenCore = await openCommandCore(settings)
  const spinner = createSpinner()
  const abort = new AbortController()
  const onSignal = () => abort.abort(new DOMException('cancelled', 'AbortError'))
  process.once('SIGINT', onSignal)
  try {
    if (values.quote) {
      const quote = await core.quote(Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined)), { signal: abort.signal })
      spinner.stop()
      process.stdout.write(values.json ? `${JSON.stringify(quoteJson(quote), null, 2)}\n` : `${describeQuote(quote).replace(/call with max_price "([^"]+)"/, 'run it with --max-price $1')}\n`)
      return 0
    }
    const defined = Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined))
    const result = await withConsent(core, kind, defined, { signal: abort.signal, onProgress: (p) => spinner.update(p.message) }, askConsent(spinner))
    spinner.stop()
    const outputs = await copyOut(result, values.out)
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ ...result, estimate: result.estimate?.toString() ?? null, cost: result.cost ? { ...result.cost, amount: result.cost.amount.toString() } : null, outputs }, null, 2)}\n`)
    } else {
      for (const [index, image] of result.images.entries()) {
        process.stdout.write(`${outputs[index] ?? image.path}\n`)
        process.stderr.write(`  url  ${image.url}${core.mode === 'in-process' ? ' (served while `imagegen serve` runs)' : ''}\n`)
      }
      process.stderr.write(`  ${result.model} ${result.size}, cost ${describeCost(result.cost)}, receipt ${result.receiptId}\n`)
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
