/**
 * `imagegen receipts [ID] [--csv | --json] [--limit N]`: what was made and paid, newest first,
 * from the receipt index joined with the ledger; one receipt in full with its id.
 */
import { formatUsd } from '../../money.js'
import { CSV_COLUMNS, csvRow, type ReceiptView } from '../../receipts/receipt.js'
import { wholeNumber, type CommandSpec, type Parsed } from '../flags.js'
import { openCommandCore } from '../options.js'
import { settingsFromFlags } from '../settings-flags.js'

export const spec = {
  usage: '[RECEIPT] [options]',
  description: [
    'Every result has a receipt: the request (the prompt\'s SHA-256, model, size, settings applied), the payment as the ledger has it now (amount, chain, payee, transaction, status) and the files made (path, size, SHA-256). ' +
      'Without an id, the receipts newest first; with one, that receipt in full. The prompt itself stays in $BLOCKRUN_HOME/receipts.jsonl and is not printed.',
  ],
  positionals: { min: 0, max: 1 },
  flags: {
    csv: { type: 'boolean', description: 'Print one CSV row per receipt (for a spreadsheet or an expense report).' },
    json: { type: 'boolean', description: 'Print the receipts as JSON on stdout.' },
    limit: { type: 'string', value: 'N', description: 'How many receipts, newest first.', default: '1000', check: wholeNumber(1, 1_000_000) },
  },
  settings: 'all',
  examples: ['imagegen receipts', 'imagegen receipts --csv > images.csv'],
} as const satisfies CommandSpec

export async function run({ values, positionals }: Parsed<typeof spec>): Promise<number | void> {
  const limit = Number(values.limit ?? 1000)
  const core = await openCommandCore(settingsFromFlags(values))
  try {
    const [id] = positionals
    if (id) {
      const receipt = await core.receipt(id)
      if (!receipt) {
        process.stderr.write(`imagegen: no receipt ${id}\n`)
        return 1
      }
      process.stdout.write(values.json ? `${JSON.stringify(receipt, null, 2)}\n` : `${describe(receipt, true)}\n`)
      return
    }
    const receipts: ReceiptView[] = []
    let before: string | undefined
    // Pages of at most 200, until the limit or the end.
    for (;;) {
      const page = await core.receipts({ before, limit: Math.min(200, limit - receipts.length) })
      receipts.push(...page.data)
      if (!page.has_more || receipts.length >= limit || page.data.length === 0) break
      before = page.data.at(-1)!.id
    }
    if (values.csv) process.stdout.write(`${[CSV_COLUMNS.join(','), ...receipts.map(csvRow)].join('\n')}\n`)
    else if (values.json) process.stdout.write(`${JSON.stringify(receipts, null, 2)}\n`)
    else process.stdout.write(receipts.length ? `${receipts.map((r) => describe(r, false)).join('\n')}\n` : 'No receipts yet.\n')
  } finally {
    await core.close()
  }
}

function describe(receipt: ReceiptView, full: boolean): string {
  const { request, payment } = receipt
  const paid = payment ? `${payment.usd} ${payment.status}${payment.transaction ? ` tx ${payment.transaction}` : ''}` : 'no payment'
  const head = `${receipt.created}  ${receipt.id}  ${request.model} ${request.size}${request.n > 1 ? ` x${request.n}` : ''}  ${paid}`
  if (!full) return `${head}\n${receipt.outputs.map((o) => `    ${o.path}`).join('\n')}`
  return [
    head,
    `  prompt sha256 ${request.prompt_sha256}`,
    ...(request.requested_model !== request.model ? [`  requested     ${request.requested_model}`] : []),
    ...(payment ? [`  paid          ${payment.usd} (${payment.amount} base units) on ${payment.network} to ${payment.pay_to} from ${payment.payer}`] : []),
    ...(payment && payment.authorizations.length > 1 ? [`  signed        ${payment.authorizations.map((a) => `${formatUsd(BigInt(a.amount))} ${a.status}`).join(', ')}`] : []),
    ...receipt.outputs.map((o) => `  file          ${o.path} (${o.bytes} bytes, sha256 ${o.sha256})`),
    ...request.notes.map((note) => `  note          ${note}`),
  ].join('\n')
}
