/**
 * What `imagegen wallet`, `GET /v1/wallet` and the `wallet_status` tool report: the address, the
 * network, the USDC balance when it can be read, and how to fund the wallet.
 */
import type { Settings } from '../config.js'
import { formatUsd } from '../money.js'
import { BASE } from '../payment/networks.js'
import { readUsdcBalance } from './balance.js'

export type WalletStatus = {
  address: string
  network: string
  asset: string
  /** USDC balance in base units, or null when it could not be read (offline, RPC down). */
  balance: string | null
  balanceUsd: string | null
  balanceNote?: string
  source: string
  fund: string
}

export async function walletStatus(settings: Settings, address: `0x${string}`, source: string): Promise<WalletStatus> {
  const balance = await readUsdcBalance(settings.rpcUrl, address, BASE)
  return {
    address,
    network: BASE.caip2,
    asset: BASE.usdc,
    balance: balance === undefined ? null : balance.toString(),
    balanceUsd: balance === undefined ? null : formatUsd(balance),
    ...(balance === undefined ? { balanceNote: 'balance unavailable (the Base RPC could not be reached)' } : {}),
    source,
    fund: `Send USDC on Base to ${address}, or fund it at https://blockrun.ai.`,
  }
}
