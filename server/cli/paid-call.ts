/**
 * What `imagegen generate` and `imagegen edit` add for paying: `--quote` (the price, nothing
 * signed), `--max-price` (refuse a higher price before signing), and, above the confirmation
 * threshold (BLOCKRUN_CONFIRM_ABOVE), a question at the terminal. Only a person at a terminal is
 * asked: without one (a script, an agent's shell) the call is refused with the price.
 */
import { createInterface } from 'node:readline/promises'
import type { Confirm } from '../core/consent.js'
import { formatUsd, parseUsd } from '../money.js'
import type { FlagSpec } from './flags.js'
import type { Spinner } from './progress.js'

export const PAID_CALL_FLAGS = {
  quote: { type: 'boolean', description: 'Print the price the gateway asks for this request, whether your limits allow it and the budget left; nothing is signed or paid.' },
  'max-price': {
    type: 'string',
    value: 'USD',
    description: 'The most this call may cost, all images and the fee; a higher price is refused before anything is signed (get it with --quote).',
    check: (value) => {
      try {
        return parseUsd(value) > 0n ? undefined : 'expected more than $0'
      } catch {
        return 'expected a dollar amount such as 0.06'
      }
    },
  },
} as const satisfies Record<string, FlagSpec>

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
