/**
 * What `imagegen wallet`, `GET /v1/wallet` and the `wallet_status` tool report: the address, the
 * network, the USDC balance on Base when it can be read (else "balance unavailable"), and how to
 * fund the wallet. Never the key.
 */
import type { Settings } from '../config.js'
import { formatUsd } from '../money.js'
import { FUND_ADVICE } from '../payment/failure.js'
import { BASE } from '../payment/networks.js'
import { readUsdcBalance, rpcUrlFor } from './balance.js'

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

export const BALANCE_UNAVAILABLE = 'balance unavailable'

export async function walletStatus(settings: Settings, address: `0x${string}`, source: string): Promise<WalletStatus> {
  const balance = await readUsdcBalance(rpcUrlFor(settings, BASE), address, BASE)
  return {
    address,
    network: BASE.caip2,
    asset: BASE.usdc,
    balance: balance === undefined ? null : balance.toString(),
    balanceUsd: balance === undefined ? null : formatUsd(balance),
    ...(balance === undefined ? { balanceNote: `${BALANCE_UNAVAILABLE} (the Base RPC could not be reached; set BASE_RPC_URL to use another)` } : {}),
    source,
    fund: `${FUND_ADVICE} Send USDC on Base (${BASE.caip2}) to ${address}, or top up at https://blockrun.ai.`,
  }
}
