/**
 * The networks and assets this client knows how to pay on, one table per chain. A requirement for
 * anything not in this table is never signed, whatever the server asks.
 *
 * EVM: USDC's EIP-712 domain name differs by chain ("USD Coin" on Base, "USDC" on Base Sepolia); a
 * wrong name yields a well-formed signature that never verifies, so the table carries it.
 *
 * Solana: USDC is an SPL token (its mint), paid with the x402 `exact` SVM scheme (a partially
 * signed TransferChecked transaction); network ids and mints are the ones @x402/svm's constants
 * name (REFERENCE.md §1: `solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp`, mint `EPjFWdd5…Dt1v`).
 *
 * @see https://github.com/ChainAgnostic/CAIPs/blob/main/CAIPs/caip-2.md
 */

/** The chains a wallet can pay on; `base` pays through the EVM networks, `solana` through the SVM ones. */
export type PaymentChain = 'base' | 'solana'
export const PAYMENT_CHAINS: readonly PaymentChain[] = ['base', 'solana']

type NetworkCommon = {
  /** Name used by x402 v1. */
  v1: string
  label: string
  testnet: boolean
}

export type EvmNetwork = NetworkCommon & {
  chain: 'base'
  /** CAIP-2 id used by x402 v2. */
  caip2: `eip155:${number}`
  chainId: number
  usdc: `0x${string}`
  usdcDomain: { name: string; version: string }
}

export type SolanaNetwork = NetworkCommon & {
  chain: 'solana'
  /** CAIP-2 id used by x402 v2 (`solana:` + the genesis hash prefix). */
  caip2: `solana:${string}`
  /** The USDC mint (base58). */
  usdc: string
  /** USDC's decimals on this mint (the amounts are base units either way). */
  decimals: number
}

export type KnownNetwork = EvmNetwork | SolanaNetwork

export const BASE: EvmNetwork = {
  chain: 'base',
  caip2: 'eip155:8453',
  v1: 'base',
  chainId: 8453,
  label: 'Base',
  usdc: '0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913',
  usdcDomain: { name: 'USD Coin', version: '2' },
  testnet: false,
}

export const BASE_SEPOLIA: EvmNetwork = {
  chain: 'base',
  caip2: 'eip155:84532',
  v1: 'base-sepolia',
  chainId: 84532,
  label: 'Base Sepolia',
  usdc: '0x036CbD53842c5426634e7929541eC2318f3dCF7e',
  usdcDomain: { name: 'USDC', version: '2' },
  testnet: true,
}

/** Solana mainnet, as BlockRun's gateway at sol.blockrun.ai asks for it (REFERENCE.md §1). */
export const SOLANA: SolanaNetwork = {
  chain: 'solana',
  caip2: 'solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp',
  v1: 'solana',
  label: 'Solana',
  usdc: 'EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v',
  decimals: 6,
  testnet: false,
}

/** Solana devnet and its USDC mint (@x402/svm: SOLANA_DEVNET_CAIP2, USDC_DEVNET_ADDRESS): the sandbox's chain. */
export const SOLANA_DEVNET: SolanaNetwork = {
  chain: 'solana',
  caip2: 'solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1',
  v1: 'solana-devnet',
  label: 'Solana devnet',
  usdc: '4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU',
  decimals: 6,
  testnet: true,
}

export const NETWORKS: readonly KnownNetwork[] = [BASE, BASE_SEPOLIA, SOLANA, SOLANA_DEVNET]

/** Finds a network by CAIP-2 id or v1 name (EVM ids are case-insensitive; a Solana genesis hash is base58, so exact). */
export function findNetwork(id: string): KnownNetwork | undefined {
  const trimmed = id.trim()
  const lower = trimmed.toLowerCase()
  return NETWORKS.find((n) => (n.chain === 'base' ? n.caip2 === lower || n.v1 === lower : n.caip2 === trimmed || n.v1 === lower))
}

/** The networks a chain pays on. */
export function networksOf(chain: PaymentChain): KnownNetwork[] {
  return NETWORKS.filter((n) => n.chain === chain)
}

const EVM_ADDRESS = /^0x[0-9a-fA-F]{40}$/
/** Base58 of 32 bytes: 32 to 44 characters of the Bitcoin alphabet (no 0, O, I, l). */
const SOLANA_ADDRESS = /^[1-9A-HJ-NP-Za-km-z]{32,44}$/

/** Which chain an address is written for, by its form; undefined when it is neither. */
export function chainOfAddress(address: string): PaymentChain | undefined {
  if (EVM_ADDRESS.test(address)) return 'base'
  if (SOLANA_ADDRESS.test(address)) return 'solana'
  return undefined
}

/** True when `address` is an address on `chain` (a payee, an asset). */
export function isAddressOn(chain: PaymentChain, address: string): boolean {
  return chainOfAddress(address) === chain
}

/** One spelling per address: EVM hex in lower case (checksums vary), Solana base58 as is (it is case-sensitive). */
export function canonicalAddress(address: string): string {
  return chainOfAddress(address) === 'base' ? address.toLowerCase() : address
}

/** Whether two addresses of `network`'s chain are the same account. */
export function sameAddress(a: string, b: string): boolean {
  return canonicalAddress(a) === canonicalAddress(b)
}
