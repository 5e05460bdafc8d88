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
    const lines = [`address  ${status.address}`, `network  ${status.network} (USDC ${status.asset})`, `balance  ${status.balanceUsd ?? status.balanceNote ?? 'unavailable'}`]
    // A wallet with a Solana side shows both accounts, and which one pays.
    // (a proxy of an older version answers without these fields)
    if ((status.accounts?.length ?? 0) > 1 || (status.paymentChain ?? 'base') !== 'base') {
      lines.push(`pays on  ${status.paymentChain === 'solana' ? 'Solana' : 'Base'} (chosen by ${status.paymentChainSource})`)
      for (const account of status.accounts ?? []) {
        lines.push(`${account.chain === 'solana' ? 'solana' : 'base  '}   ${account.address}  ${account.balanceUsd ?? account.balanceNote ?? 'unavailable'}${account.paying ? '  (pays)' : ''}  [key: ${account.source}]`)
      }
    }
    if (status.solanaNote) lines.push(`note     no Solana account: ${status.solanaNote}`)
    lines.push(status.fund)
    process.stdout.write(`${lines.join('\n')}\n`)
  } finally {
    await core.close()
  }
}
