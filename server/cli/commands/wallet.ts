import { openCommandCore, parseCommand, settingsFromFlags } from '../options.js'

export async function run(args: string[]): Promise<number | void> {
  const { values } = parseCommand(args, { json: { type: 'boolean' } })
  const core = await openCommandCore(settingsFromFlags(values))
  try {
    const status = await core.wallet()
    if (values.json) {
      process.stdout.write(`${JSON.stringify(status, null, 2)}\n`)
      return
    }
    process.stdout.write(
      `address  ${status.address}\nnetwork  ${status.network} (USDC ${status.asset})\n` +
        `balance  ${status.balanceUsd ?? status.balanceNote ?? 'unavailable'}\n${status.fund}\n`,
    )
  } finally {
    await core.close()
  }
}
