/**
 * What `imagegen wallet`, `GET /v1/wallet` and the `wallet_status` tool report: the address that
 * pays, its network, its USDC balance when it can be read (else "balance unavailable"), and how
 * to fund it; then every account the wallet has (Base always; Solana when a Solana key or a
 * mnemonic exists), each with its own balance, and which chain pays. Never a key.
 *
 * The top-level fields describe the paying account, so a Base-only wallet reports exactly what it
 * always did; `accounts` and `paymentChain` are what a Solana wallet adds.
 */
import type { Settings } from '../config.js'
import { formatUsd } from '../money.js'
import { FUND_ADVICE } from '../payment/failure.js'
import { BASE, findNetwork, SOLANA, type KnownNetwork, type PaymentChain } from '../payment/networks.js'
import { readUsdcBalance, rpcUrlFor } from './balance.js'
import type { Wallet } from './key.js'

export type AccountStatus = {
  chain: PaymentChain
  address: string
  network: string
  asset: string
  /** USDC balance in base units, or null when it could not be read (offline, RPC down). */
  balance: string | null
  balanceUsd: string | null
  balanceNote?: string
  /** Where the key came from: env, file, created, mnemonic. */
  source: string
  /** True for the account that pays for images. */
  paying: boolean
}

export type WalletStatus = Omit<AccountStatus, 'chain' | 'paying'> & {
  fund: string
  /** The chain that pays, and where that choice came from (a setting, the payment-chain file, the default). */
  paymentChain: PaymentChain
  paymentChainSource: string
  /** Every account of the wallet, the paying one first. */
  accounts: AccountStatus[]
  /** Why the wallet has no Solana account although a mnemonic file exists. */
  solanaNote?: string
  /**
   * Where the paying account's network comes from: `upstream` when the upstream's 402 named it,
   * else `default` (its chain's mainnet), with `networkNote` saying why the upstream was not asked.
   */
  networkSource?: 'upstream' | 'default'
  networkNote?: string
}

export const BALANCE_UNAVAILABLE = 'balance unavailable'

/** The wallet the settings and keys describe. */
export type WalletStatusInput = Pick<Wallet, 'address' | 'source' | 'solana' | 'solanaNote'>

/**
 * The network payments go on, as the upstream's 402 names it (upstream/asked-network.ts), or why it
 * is not known; without it the paying chain's mainnet is shown.
 */
export type NetworkHint = { network: KnownNetwork } | { reason: string }

/**
 * `walletStatus(settings, wallet, hint)`; the older `(settings, address, source)` form describes an
 * EVM-only wallet.
 */
export async function walletStatus(settings: Settings, walletOrAddress: WalletStatusInput | `0x${string}`, sourceOrHint: string | NetworkHint = 'file'): Promise<WalletStatus> {
  const hint = typeof sourceOrHint === 'string' ? undefined : sourceOrHint
  const source = typeof sourceOrHint === 'string' ? sourceOrHint : 'file'
  const wallet: WalletStatusInput = typeof walletOrAddress === 'string' ? { address: walletOrAddress, source: source as Wallet['source'] } : walletOrAddress
  const chain = settings.paymentChain ?? 'base'
  const asked = hint && 'network' in hint ? hint.network : undefined
  const solanaNetwork = asked?.chain === 'solana' ? asked : (settings.policy.networks.find((n) => n.chain === 'solana') ?? SOLANA)
  const baseNetwork = asked?.chain === 'base' ? asked : BASE
  const wanted: Array<{ chain: PaymentChain; address: string; network: KnownNetwork; source: string }> = [{ chain: 'base', address: wallet.address, network: baseNetwork, source: wallet.source }]
  if (wallet.solana) wanted.push({ chain: 'solana', address: wallet.solana.address, network: solanaNetwork, source: wallet.solana.source })
  const accounts = await Promise.all(wanted.map((account) => accountStatus(settings, account, account.chain === chain)))
  accounts.sort((a, b) => Number(b.paying) - Number(a.paying))
  const paying = accounts[0]!.paying ? accounts[0]! : accounts.find((a) => a.chain === 'base')!
  return {
    address: paying.address,
    network: paying.network,
    asset: paying.asset,
    balance: paying.balance,
    balanceUsd: paying.balanceUsd,
    ...(paying.balanceNote ? { balanceNote: paying.balanceNote } : {}),
    source: paying.source,
    fund: fundText(paying, chain),
    paymentChain: chain,
    paymentChainSource: settings.paymentChainSource ?? 'default',
    accounts,
    ...(wallet.solanaNote ? { solanaNote: wallet.solanaNote } : {}),
    ...(hint ? { networkSource: asked ? ('upstream' as const) : ('default' as const) } : {}),
    ...(hint && 'reason' in hint ? { networkNote: `${paying.network} is shown because the upstream's network could not be learnt: ${hint.reason}` } : {}),
  }
}

async function accountStatus(settings: Settings, account: { chain: PaymentChain; address: string; network: KnownNetwork; source: string }, paying: boolean): Promise<AccountStatus> {
  const { network } = account
  const balance = await readUsdcBalance(rpcUrlFor(settings, network), account.address, network)
  const rpcSetting =
    network.chain === 'solana'
      ? network.testnet
        ? 'SOLANA_DEVNET_RPC_URL or --solana-devnet-rpc-url'
        : 'SOLANA_RPC_URL or --solana-rpc-url'
      : network.testnet
        ? 'BASE_SEPOLIA_RPC_URL or --sepolia-rpc-url'
        : 'BASE_RPC_URL or --rpc-url'
  return {
    chain: account.chain,
    address: account.address,
    network: network.caip2,
    asset: network.usdc,
    balance: balance === undefined ? null : balance.toString(),
    balanceUsd: balance === undefined ? null : formatUsd(balance),
    ...(balance === undefined ? { balanceNote: `${BALANCE_UNAVAILABLE} (the ${network.label} RPC could not be reached; set ${rpcSetting} to use another)` } : {}),
    source: account.source,
    paying,
  }
}

function fundText(paying: AccountStatus, chain: PaymentChain): string {
  if (paying.chain === 'solana' && paying.network !== SOLANA.caip2) {
    return `Payments are made on ${labelOf(paying.network)} (${paying.network}) in test USDC, which has no value: send some to ${paying.address} from a faucet (a local sandbox funds it with \`imagegen sandbox --chain solana --fund ${paying.address}\`). To pay on Base instead, set BLOCKRUN_PAYMENT_CHAIN=base.`
  }
  if (paying.chain === 'solana') {
    return `Payments are made on Solana. Send USDC on Solana (${paying.network}) to ${paying.address}, or top up at https://blockrun.ai. To pay on Base instead, set BLOCKRUN_PAYMENT_CHAIN=base.`
  }
  if (paying.network !== BASE.caip2) {
    // Another upstream (a sandbox, a self-hosted gateway) asks for test USDC: BlockRun sells none.
    const text = `This upstream is paid in test USDC on ${labelOf(paying.network)} (${paying.network}), which has no value: send some to ${paying.address} from a faucet (a local sandbox funds it with \`imagegen sandbox --fund ${paying.address}\`).`
    return chain === 'solana' ? `${text} (Solana was chosen but this wallet has no Solana key.)` : text
  }
  const text = `${FUND_ADVICE} Send USDC on Base (${paying.network}) to ${paying.address}, or top up at https://blockrun.ai.`
  return chain === 'solana' ? `${text} (Solana was chosen but this wallet has no Solana key.)` : text
}

function labelOf(caip2: string): string {
  return findNetwork(caip2)?.label ?? caip2
}
