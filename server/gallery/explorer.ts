/**
 * Where a payment's transaction can be looked at. Mainnets only: Base on BaseScan, Solana on
 * Solscan. Testnet payments get no link: the sandbox's transactions are entries in its own
 * in-memory ledger, on no chain, so a testnet explorer would only say "not found".
 */
import { BASE, SOLANA } from '../payment/networks.js'

const EXPLORERS: Record<string, { name: string; tx: (hash: string) => string; valid: RegExp }> = {
  [BASE.caip2]: { name: 'BaseScan', tx: (hash) => `https://basescan.org/tx/${hash}`, valid: /^0x[0-9a-fA-F]{64}$/ },
  [SOLANA.caip2]: { name: 'Solscan', tx: (hash) => `https://solscan.io/tx/${hash}`, valid: /^[1-9A-HJ-NP-Za-km-z]{64,90}$/ },
}

/** The explorer page of `transaction` on `network` (CAIP-2), or undefined (a testnet, or not a transaction hash of that chain). */
export function explorerLink(network: string, transaction: string | undefined): { name: string; url: string } | undefined {
  const explorer = EXPLORERS[network]
  if (!explorer || !transaction || !explorer.valid.test(transaction)) return undefined
  return { name: explorer.name, url: explorer.tx(transaction) }
}
