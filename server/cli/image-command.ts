/**
 * What `generate` and `edit` share: their common flags, and the run itself: check `--out` before
 * anything is paid, open the core, show progress, print where each image is and what it cost.
 * When something fails after the payment (writing `--out`, say), the answer still says where the
 * paid images are and what they cost.
 */
import { ASPECT_RATIO_PATTERN, parseRatio } from '../catalog/index.js'
import { withConsent } from '../core/consent.js'
import type { ImagegenCore } from '../core/index.js'
import { toImagegenError } from '../errors.js'
import { describeQuote, quoteJson } from '../quote.js'
import type { CallOptions, ImageResult } from '../service.js'
import { describeCost } from '../service.js'
import { OPENAI_MAX_N } from '../schemas.js'
import { wholeNumber, type FlagSpec } from './flags.js'
import { openCommandCore } from './options.js'
import { askConsent } from './paid-call.js'
import { OUT_EXTENSIONS, planOutput, writeOutputs, type OutPlan, type WrittenImage } from './out-file.js'
import { createSpinner } from './progress.js'
import type { Settings } from '../config.js'

const sizeCheck = (value: string) => (/^(\d{2,5}x\d{2,5}|auto)$/.test(value) ? undefined : 'expected WIDTHxHEIGHT such as 1024x1536, or auto')
const ratioCheck = (value: string) => (ASPECT_RATIO_PATTERN.test(value) && parseRatio(value) !== undefined ? undefined : 'expected square, portrait, landscape or a ratio such as 16:9')

/** The shape flags of both image commands. */
export const SHAPE_FLAGS = {
  size: { type: 'string', short: 's', value: 'WxH', description: "Size such as 1024x1536, or auto (the model's default); a size the model does not take is refused before paying.", default: '1024x1024', check: sizeCheck },
  'aspect-ratio': { type: 'string', short: 'a', value: 'RATIO', description: 'Instead of --size: square, portrait, landscape or a ratio such as 16:9; the nearest size the model takes is used, and said.', check: ratioCheck },
} as const satisfies Record<string, FlagSpec>

/** How many images, and what is done with the result, for both image commands. */
export const RESULT_FLAGS = {
  n: { type: 'string', value: 'N', description: 'Images in one paid request; the cost scales with it.', default: '1', check: wholeNumber(1, OPENAI_MAX_N) },
  out: {
    type: 'string',
    short: 'o',
    value: 'PATH',
    description: `Also write the image to PATH in the format its extension names (${Object.keys(OUT_EXTENSIONS).map((e) => `.${e}`).join(', ')}; converted when the model made another), or into PATH when it is a folder; several images are PATH-1, PATH-2... Checked before paying.`,
  },
  json: { type: 'boolean', description: 'Print the result as JSON on stdout.' },
} as const satisfies Record<string, FlagSpec>

/**
 * Runs one paid image request for the command line; the exit code. With `--quote`, prints the
 * price instead (nothing signed). A price above the confirmation threshold is asked at the
 * terminal, and refused where there is none (paid-call.ts).
 */
export async function runImageCommand(
  settings: Settings,
  kind: 'generate' | 'edit',
  request: Record<string, unknown>,
  values: { out?: string | undefined; json?: boolean | undefined; quote?: boolean | undefined },
): Promise<number> {
  const input = Object.fromEntries(Object.entries(request).filter(([, value]) => value !== undefined))
  // Before anything is opened, let alone paid: a bad --out is the user's to fix first.
  const plan = values.out === undefined || values.quote ? undefined : await planOutput(values.out)
  const core = await openCommandCore(settings)
  const spinner = createSpinner()
  const abort = new AbortController()
  const onSignal = () => abort.abort(new DOMException('cancelled', 'AbortError'))
  process.once('SIGINT', onSignal)
  try {
    if (values.quote) return await printQuote(core, input, values, spinner, abort.signal)
    let result: ImageResult
    try {
      const options: CallOptions = { signal: abort.signal, onProgress: (p) => spinner.update(p.message) }
      result = await withConsent(core, kind, input, options, askConsent(spinner))
    } catch (error) {
      spinner.stop(`error: ${toImagegenError(error).message}`)
      return 1
    }
    spinner.stop()
    let written: WrittenImage[] = []
    let outError: string | undefined
    if (plan) written = await writeOutputs(plan, result.images).catch((error: unknown) => ((outError = describeOutError(error, plan)), []))
    if (values.json) printJson(result, written, outError)
    else printResult(result, written, core)
    if (outError === undefined) return 0
    const paid = result.cost ? `paid for (${describeCost(result.cost)})` : 'made (no payment was asked)'
    const where = result.images.map((image) => image.path).join(', ')
    process.stderr.write(`error: ${outError}. The image${result.images.length === 1 ? ' was' : 's were'} ${paid} and ${result.images.length === 1 ? 'is' : 'are'} saved at ${where}\n`)
    return 1
  } finally {
    process.off('SIGINT', onSignal)
    await core.close()
  }
}

async function printQuote(core: ImagegenCore, input: Record<string, unknown>, values: { json?: boolean | undefined }, spinner: ReturnType<typeof createSpinner>, signal: AbortSignal): Promise<number> {
  try {
    const quote = await core.quote(input, { signal })
    spinner.stop()
    process.stdout.write(values.json ? `${JSON.stringify(quoteJson(quote), null, 2)}\n` : `${describeQuote(quote).replace(/call with max_price "([^"]+)"/, 'run it with --max-price $1')}\n`)
    return 0
  } catch (error) {
    spinner.stop(`error: ${toImagegenError(error).message}`)
    return 1
  }
}

function describeOutError(error: unknown, plan: OutPlan): string {
  const target = plan.kind === 'dir' ? plan.dir : plan.path
  const reason = (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : String(error))
  return `writing --out ${target} failed (${reason})`
}

function printJson(result: ImageResult, written: WrittenImage[], outError: string | undefined): void {
  const cost = result.cost ? { ...result.cost, amount: result.cost.amount.toString() } : null
  const json = { ...result, estimate: result.estimate?.toString() ?? null, cost, outputs: written.map((w) => w.path), ...(outError ? { outputError: outError } : {}) }
  process.stdout.write(`${JSON.stringify(json, null, 2)}\n`)
}

/** stdout: one path per image (what a script takes); stderr: its URL, the model, size, cost and notes. */
function printResult(result: ImageResult, written: WrittenImage[], core: ImagegenCore): void {
  for (const [index, image] of result.images.entries()) {
    process.stdout.write(`${written[index]?.path ?? image.path}\n`)
    if (written[index]) process.stderr.write(`  file ${image.path}\n`)
    // An in-process result's http URL works once `imagegen serve` runs on that port; a file:// one
    // (no proxy of ours can serve it there) says nothing the path does not.
    if (!image.url.startsWith('file:')) process.stderr.write(`  url  ${image.url}${core.mode === 'in-process' ? ' (served while `imagegen serve` runs)' : ''}\n`)
    const converted = written[index]?.convertedFrom
    if (converted) process.stderr.write(`  note ${written[index]!.path} was converted from the ${converted.toUpperCase()} the model made\n`)
  }
  process.stderr.write(`  ${result.model} ${result.size}, cost ${describeCost(result.cost)}, receipt ${result.receiptId}\n`)
  for (const note of result.notes) process.stderr.write(`  note ${note}\n`)
}
