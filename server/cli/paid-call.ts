/**
 * What `imagegen generate` and `imagegen edit` add for paying: `--quote` (the price, nothing
 * signed), `--max-price` (refuse a higher price before signing), and, above the confirmation
 * threshold (BLOCKRUN_CONFIRM_ABOVE), a question at the terminal. Only a person at a terminal is
 * asked: without one (a script, an agent's shell) the call is refused with the price.
 */
import { createInterface } from 'node:readline/promises'
import type { Confirm } from '../core/consent.js'
import { formatUsd } from '../money.js'
import type { Spinner } from './progress.js'

export const PAID_CALL_FLAGS = {
  quote: { type: 'boolean' },
  'max-price': { type: 'string' },
} as const

export function askConsent(spinner: Spinner, input: NodeJS.ReadStream = process.stdin, output: NodeJS.WriteStream = process.stderr): Confirm | undefined {
  if (!input.isTTY || !output.isTTY) return undefined
  return async (quote) => {
    spinner.stop()
    const what = `${quote.n} image${quote.n === 1 ? '' : 's'} from ${quote.model} at ${quote.size}`
    const lines = createInterface({ input, output })
    try {
      const answer = await lines.question(
        `Pay ${formatUsd(quote.amount ?? 0n)} USDC for ${what}, on ${quote.networkLabel ?? quote.network}? It is above ${formatUsd(quote.confirmation.above ?? 0n)} (BLOCKRUN_CONFIRM_ABOVE). [y/N] `,
      )
      return /^y(es)?$/i.test(answer.trim())
    } finally {
      lines.close()
    }
  }
}
