/**
 * The networks and assets this client knows how to pay on. A requirement for anything not in this
 * table is never signed, whatever the server asks.
 *
 * USDC's EIP-712 domain name differs by chain ("USD Coin" on Base, "USDC" on Base Sepolia); a wrong
 * name yields a well-formed signature that never verifies, so the table carries it.
 */
export type KnownNetwork = {
  /** CAIP-2 id used by x402 v2. */
  caip2: `eip155:${number}`
  /** Name used by x402 v1. */
  v1: string
  chainId: number
  label: string
  usdc: `0x${string}`
  usdcDomain: { name: string; version: string }
  testnet: boolean
}

export const NETWORKS: readonly KnownNetwork[] = [
  {
    caip2: 'eip155:8453',
    v1: 'base',
    chainId: 8453,
    label: 'Base',
    usdc: '0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913',
    usdcDomain: { name: 'USD Coin', version: '2' },
    testnet: false,
  },
  {
    caip2: 'eip155:84532',
    v1: 'base-sepolia',
    chainId: 84532,
    label: 'Base Sepolia',
    usdc: '0x036CbD53842c5426634e7929541eC2318f3dCF7e',
    usdcDomain: { name: 'USDC', version: '2' },
    testnet: true,
  },
]

/** Finds a network by CAIP-2 id or v1 name. */
export function findNetwork(id: string): KnownNetwork | undefined {
  const key = id.trim().toLowerCase()
  return NETWORKS.find((n) => n.caip2 === key || n.v1 === key)
}

export const BASE = NETWORKS[0]!
export const BASE_SEPOLIA = NETWORKS[1]!
