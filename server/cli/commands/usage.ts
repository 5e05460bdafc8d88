/**
 * `imagegen usage`: spend per day, model and network from the ledger, and the budget left.
 */
import { describeBudget, describeHeld } from '../../payment/usage.js'
import { wholeNumber, type CommandSpec, type Parsed } from '../flags.js'
import { openCommandCore } from '../options.js'
import { settingsFromFlags } from '../settings-flags.js'

export const spec = {
  usage: '[options]',
  positionals: { min: 0, max: 0 },
  flags: {
    days: { type: 'string', value: 'N', description: 'Days of spend to show.', default: '30', check: wholeNumber(1, 3650) },
    json: { type: 'boolean', description: 'Print the report as JSON on stdout.' },
  },
  settings: 'all',
} as const satisfies CommandSpec

export async function run({ values }: Parsed<typeof spec>): Promise<number | void> {
  const days = Number(values.days ?? 30)
  const core = await openCommandCore(settingsFromFlags(values))
  try {
    const report = await core.usage(days)
    if (values.json) {
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
      return
    }
    const lines = [`Spend over the last ${days} day(s): ${report.totalUsd} in ${report.payments} payment(s)${report.unconfirmed ? `, ${report.unconfirmed} unconfirmed` : ''}`]
    for (const day of report.byDay) lines.push(`  ${day.day}  ${day.usd.padStart(10)}  ${day.payments} payment(s)`)
    if (report.byModel.length) lines.push('By model:')
    for (const model of report.byModel) lines.push(`  ${model.model.padEnd(28)} ${model.usd.padStart(10)}  ${model.images} image(s)`)
    // Shown once a second network has been paid on (a Base and a Solana wallet share one budget).
    if ((report.byNetwork?.length ?? 0) > 1) {
      lines.push('By network:')
      for (const network of report.byNetwork) lines.push(`  ${network.network.padEnd(48)} ${network.usd.padStart(10)}  ${network.payments} payment(s)`)
    }
    lines.push(describeBudget(report.budget))
    const held = describeHeld(report)
    if (held) lines.push(`  ${held}`)
    if (report.declined) lines.push(`  ${report.declined} request(s) declined by the budget in ${days} day(s) (nothing signed)`)
    process.stdout.write(`${lines.join('\n')}\n`)
  } finally {
    await core.close()
  }
}
