/**
 * USDC balance through viem, time-limited: a wallet report must not hang when offline.
 */
import type { KnownNetwork } from '../payment/networks.js'

const BALANCE_OF = [
  { type: 'function', name: 'balanceOf', stateMutability: 'view', inputs: [{ name: 'account', type: 'address' }], outputs: [{ name: '', type: 'uint256' }] },
] as const

/** The balance in base units, or undefined when the RPC cannot be reached in `timeoutMs`. */
export async function readUsdcBalance(rpcUrl: string, address: `0x${string}`, network: KnownNetwork, timeoutMs = 3000): Promise<bigint | undefined> {
  const { createPublicClient, http } = await import('viem')
  const client = createPublicClient({ transport: http(rpcUrl, { timeout: timeoutMs, retryCount: 0 }) })
  try {
    return await client.readContract({ address: network.usdc, abi: BALANCE_OF, functionName: 'balanceOf', args: [address] })
  } catch {
    return undefined
  }
}
