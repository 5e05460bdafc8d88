/**
 * USDC balance, time-limited: a wallet report or an error message must not hang when the machine
 * is offline or the RPC is down. `undefined` means "unavailable", never zero. On EVM networks
 * through viem (`balanceOf`); on Solana through @solana/kit (the owner's token accounts of the
 * USDC mint, payment/solana-rpc.ts), each loaded only when that chain's balance is asked for.
 */
import type { Settings } from '../config.js'
import type { KnownNetwork } from '../payment/networks.js'
import { USDC_VIEWS } from '../payment/usdc-abi.js'

/**
 * The JSON-RPC endpoint the settings give for `network`: Base `BASE_RPC_URL`, Base Sepolia
 * `BASE_SEPOLIA_RPC_URL`, Solana `SOLANA_RPC_URL`, Solana devnet `SOLANA_DEVNET_RPC_URL`.
 */
export function rpcUrlFor(settings: Pick<Settings, 'rpcUrl' | 'sepoliaRpcUrl'> & Partial<Pick<Settings, 'solanaRpcUrl' | 'solanaDevnetRpcUrl'>>, network: KnownNetwork): string {
  if (network.chain === 'solana') return (network.testnet ? settings.solanaDevnetRpcUrl : settings.solanaRpcUrl) ?? ''
  return network.testnet ? settings.sepoliaRpcUrl : settings.rpcUrl
}

/** The balance in base units, or undefined when the RPC cannot be reached or answer in `timeoutMs`. */
export async function readUsdcBalance(rpcUrl: string, address: string, network: KnownNetwork, timeoutMs = 3000): Promise<bigint | undefined> {
  if (network.chain === 'solana') {
    const { SolanaRpc } = await import('../payment/solana-rpc.js')
    return new SolanaRpc(() => rpcUrl, timeoutMs).usdcBalance(network, address).catch(() => undefined)
  }
  if (!/^0x[0-9a-fA-F]{40}$/.test(address)) return undefined
  const { createPublicClient, http } = await import('viem')
  const client = createPublicClient({ transport: http(rpcUrl, { timeout: timeoutMs, retryCount: 0 }) })
  try {
    const balance = await client.readContract({ address: network.usdc, abi: USDC_VIEWS, functionName: 'balanceOf', args: [address as `0x${string}`] })
    return typeof balance === 'bigint' && balance >= 0n ? balance : undefined
  } catch {
    return undefined
  }
}
