/**
 * USDC balance through viem, time-limited: a wallet report or an error message must not hang
 * when the machine is offline or the RPC is down. `undefined` means "unavailable", never zero.
 */
import type { Settings } from '../config.js'
import type { KnownNetwork } from '../payment/networks.js'
import { USDC_VIEWS } from '../payment/usdc-abi.js'


/** The JSON-RPC endpoint the settings give for `network` (Base: `BASE_RPC_URL`; Base Sepolia: `BASE_SEPOLIA_RPC_URL`). */
export function rpcUrlFor(settings: Pick<Settings, 'rpcUrl' | 'sepoliaRpcUrl'>, network: KnownNetwork): string {
  return network.testnet ? settings.sepoliaRpcUrl : settings.rpcUrl
}

/** The balance in base units, or undefined when the RPC cannot be reached or answer in `timeoutMs`. */
export async function readUsdcBalance(rpcUrl: string, address: `0x${string}`, network: KnownNetwork, timeoutMs = 3000): Promise<bigint | undefined> {
  const { createPublicClient, http } = await import('viem')
  const client = createPublicClient({ transport: http(rpcUrl, { timeout: timeoutMs, retryCount: 0 }) })
  try {
    const balance = await client.readContract({ address: network.usdc, abi: USDC_VIEWS, functionName: 'balanceOf', args: [address] })
    return typeof balance === 'bigint' && balance >= 0n ? balance : undefined
  } catch {
    return undefined
  }
}
