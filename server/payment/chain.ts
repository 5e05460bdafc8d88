/**
 * Which chain pays, chosen as ClawRouter chooses it (REFERENCE.md §1; ClawRouter `src/auth.ts`
 * `resolvePaymentChain`): an explicit setting first (our flag, plugin config or
 * `BLOCKRUN_PAYMENT_CHAIN`, then ClawRouter's own `CLAWROUTER_PAYMENT_CHAIN`), else the
 * `payment-chain` file ClawRouter writes beside `wallet.key` (`solana` means Solana, anything else
 * Base), else Base. Since ClawRouter v0.12.246 a new install writes `solana` there: its USDC is on
 * Solana, paid through `https://sol.blockrun.ai/api`.
 *
 * The upstream follows the chain unless the user set one; a BlockRun upstream of the other chain
 * is refused at start (a Solana wallet pointed at the Base gateway would pay on Base, or not at all).
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { PAYMENT_CHAINS, type PaymentChain } from './networks.js'

export const CHAIN_FILE = 'payment-chain'
export const BASE_UPSTREAM = 'https://blockrun.ai/api'
export const SOLANA_UPSTREAM = 'https://sol.blockrun.ai/api'

/** BlockRun's gateway host per chain (REFERENCE.md §1: blockrun.ai pays on Base, sol.blockrun.ai on Solana). */
const GATEWAY_HOSTS: Readonly<Record<string, PaymentChain>> = { 'blockrun.ai': 'base', 'sol.blockrun.ai': 'solana' }

export type ChainChoice = { chain: PaymentChain; source: string }

/** The chain from a setting (strict), else ClawRouter's variable and file (read as ClawRouter reads them), else Base. */
export function choosePaymentChain(setting: string | undefined, clawRouterSetting: string | undefined, home: string): ChainChoice {
  if (setting !== undefined) {
    const chain = setting.trim().toLowerCase()
    if (!PAYMENT_CHAINS.includes(chain as PaymentChain)) throw new Error(`payment chain: expected base or solana, got "${setting}"`)
    return { chain: chain as PaymentChain, source: 'setting' }
  }
  // ClawRouter honours only the exact values; anything else falls through to its file.
  if (clawRouterSetting === 'solana' || clawRouterSetting === 'base') return { chain: clawRouterSetting, source: 'CLAWROUTER_PAYMENT_CHAIN' }
  const file = join(home, CHAIN_FILE)
  try {
    return { chain: readFileSync(file, 'utf8').trim() === 'solana' ? 'solana' : 'base', source: file }
  } catch {
    return { chain: 'base', source: 'default' }
  }
}

export function defaultUpstream(chain: PaymentChain): string {
  return chain === 'solana' ? SOLANA_UPSTREAM : BASE_UPSTREAM
}

/** Throws when `upstream` is BlockRun's gateway for the other chain. Other hosts (a sandbox, a self-hosted gateway) are the user's call. */
export function checkUpstreamChain(upstream: string, chain: PaymentChain): void {
  const host = URL.canParse(upstream) ? new URL(upstream).hostname.toLowerCase() : ''
  const served = GATEWAY_HOSTS[host]
  if (!served || served === chain) return
  throw new Error(
    `payment chain: ${chain} is chosen but the upstream ${upstream} is BlockRun's ${served === 'solana' ? 'Solana' : 'Base'} gateway; ` +
      `use ${defaultUpstream(chain)} (or leave the upstream unset), or choose the ${served} chain (BLOCKRUN_PAYMENT_CHAIN=${served}). Nothing is paid on a chain you did not choose.`,
  )
}
