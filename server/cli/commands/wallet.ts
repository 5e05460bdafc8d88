/**
 * `imagegen wallet`: the paying address, the network the upstream asks payments on, its balance
 * (read through that network's RPC), and how to fund it; every account of the wallet.
 */
import type { CommandSpec, Parsed } from '../flags.js'
import { openCommandCore } from '../options.js'
import { settingsFromFlags } from '../settings-flags.js'
import { findNetwork } from '../../payment/networks.js'
import { BALANCE_UNAVAILABLE, type WalletStatus } from '../../wallet/status.js'

export const spec = {
  usage: '[options]',
  description: [
    'The network shown is the one the upstream asks payments on (learnt from one unpaid request, which costs nothing), and the balance is read from that network\'s RPC: ' +
      'for a sandbox, point --upstream and --sepolia-rpc-url (or --solana-devnet-rpc-url) at the URLs `imagegen sandbox` prints.',
  ],
  positionals: { min: 0, max: 0 },
  flags: { json: { type: 'boolean', description: 'Print the report as JSON on stdout.' } },
  settings: 'all',
} as const satisfies CommandSpec

export async function run({ values }: Parsed<typeof spec>): Promise<number | void> {
  const core = await openCommandCore(settingsFromFlags(values))
  try {
    const status = await core.wallet()
    process.stdout.write(values.json ? `${JSON.stringify(status, null, 2)}\n` : `${describeWallet(status).join('\n')}\n`)
  } finally {
    await core.close()
  }
}

/** The report for people, one fact a line. */
export function describeWallet(status: WalletStatus): string[] {
  const balance = (usd: string | null, note: string | undefined) => usd ?? (note ?? BALANCE_UNAVAILABLE).replace(new RegExp(`^${BALANCE_UNAVAILABLE}`), 'unavailable')
  const label = findNetwork(status.network)?.label
  const where = status.networkSource === 'upstream' ? ', as the upstream asks' : ''
  const lines = [`address  ${status.address}`, `network  ${label ? `${label} (${status.network})` : status.network}${where}; USDC ${status.asset}`, `balance  ${balance(status.balanceUsd, status.balanceNote)}`]
  if (status.networkNote) lines.push(`note     ${status.networkNote}`)
  // A wallet with a Solana side shows both accounts, and which one pays.
  // (a proxy of an older version answers without these fields)
  if ((status.accounts?.length ?? 0) > 1 || (status.paymentChain ?? 'base') !== 'base') {
    lines.push(`pays on  ${status.paymentChain === 'solana' ? 'Solana' : 'Base'} (chosen by ${status.paymentChainSource})`)
    for (const account of status.accounts ?? []) {
      lines.push(`${account.chain === 'solana' ? 'solana' : 'base  '}   ${account.address}  ${balance(account.balanceUsd, account.balanceNote)}${account.paying ? '  (pays)' : ''}  [key: ${account.source}]`)
    }
  }
  if (status.solanaNote) lines.push(`note     no Solana account: ${status.solanaNote}`)
  lines.push(status.fund)
  return lines
}
