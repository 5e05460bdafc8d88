import { describeBudget } from '../../payment/usage.js'
import { openCommandCore, parseCommand, settingsFromFlags } from '../options.js'

export async function run(args: string[]): Promise<number | void> {
  const { values } = parseCommand(args, { days: { type: 'string' }, json: { type: 'boolean' } })
  const days = Number(values.days ?? 30)
  if (!Number.isInteger(days) || days < 1) {
    process.stderr.write('--days must be a whole number of at least 1\n')
    return 2
  }
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
    if (report.declined) lines.push(`  ${report.declined} request(s) declined by the budget in ${days} day(s) (nothing signed)`)
    process.stdout.write(`${lines.join('\n')}\n`)
  } finally {
    await core.close()
  }
}
