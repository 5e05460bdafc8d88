/**
 * The spend policy on Solana (issue #17): the same limits, chain-blind except for what a chain
 * makes different: Solana requirements are checked against the Solana table (devnet or mainnet
 * USDC mint, a base58 payee, case-sensitive), and only the paying chain's networks are allowed,
 * so a gateway that offers both chains is paid on the one the user chose.
 */
import type { PaymentRequired, PaymentRequirements } from '@x402/core/types'
import { describe, expect, it } from 'vitest'
import { resolveSettings, type SpendPolicy } from '../server/config.js'
import { BASE, SOLANA, SOLANA_DEVNET } from '../server/payment/networks.js'
import { choosePayment } from '../server/payment/policy.js'
import { SANDBOX_PAY_TO, SANDBOX_SOLANA_PAY_TO } from '../server/sandbox/app.js'

const policyOf = (overrides: Parameters<typeof resolveSettings>[0] = {}): SpendPolicy => resolveSettings({ home: '/tmp/unused', ...overrides }).policy

function solana(overrides: Partial<PaymentRequirements> & Record<string, unknown> = {}): PaymentRequirements {
  return { scheme: 'exact', network: SOLANA.caip2, asset: SOLANA.usdc, amount: '51000', payTo: SANDBOX_SOLANA_PAY_TO, maxTimeoutSeconds: 300, extra: { feePayer: SANDBOX_SOLANA_PAY_TO }, ...overrides } as PaymentRequirements
}
const evm = (): PaymentRequirements => ({ scheme: 'exact', network: BASE.caip2, asset: BASE.usdc, amount: '41000', payTo: SANDBOX_PAY_TO, maxTimeoutSeconds: 300, extra: { ...BASE.usdcDomain } }) as PaymentRequirements
const v2 = (...accepts: PaymentRequirements[]): PaymentRequired => ({ x402Version: 2, resource: { url: 'http://x' }, accepts }) as PaymentRequired

function refused(required: PaymentRequired, policy: SpendPolicy): string {
  const decision = choosePayment(required, policy)
  if (decision.allowed) throw new Error('expected a refusal')
  return `${decision.error.code}: ${decision.error.message}`
}

describe('the policy on Solana', () => {
  const onSolana = policyOf({ paymentChain: 'solana' })

  it('allows USDC on Solana mainnet and devnet to a base58 payee, in base units', () => {
    for (const network of [SOLANA, SOLANA_DEVNET]) {
      const decision = choosePayment(v2(solana({ network: network.caip2, asset: network.usdc })), onSolana)
      expect(decision.allowed && decision.option).toMatchObject({ network, amount: 51_000n, payTo: SANDBOX_SOLANA_PAY_TO })
    }
  })

  it('pays only on the chosen chain when a gateway offers both', () => {
    const decision = choosePayment(v2(evm(), solana()), onSolana)
    expect(decision.allowed && decision.option.network).toBe(SOLANA)
    const onBase = choosePayment(v2(evm(), solana()), policyOf())
    expect(onBase.allowed && onBase.option.network).toBe(BASE)
    expect(refused(v2(solana()), policyOf())).toMatch(/^network_not_allowed: .*solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp is not allowed/)
  })

  it('refuses another mint, the devnet mint on mainnet, an EVM payee and a payee that differs only in case', () => {
    expect(refused(v2(solana({ asset: 'Es9vMFrzaCERmJfrF4H2FYD4KCoNkY11McCe8BenwNYB' })), onSolana)).toMatch(/^asset_not_allowed: .*is not USDC on Solana/)
    expect(refused(v2(solana({ asset: SOLANA_DEVNET.usdc })), onSolana)).toMatch(/^asset_not_allowed/)
    expect(refused(v2(solana({ asset: SOLANA.usdc.toLowerCase() })), onSolana)).toMatch(/^asset_not_allowed/)
    expect(refused(v2(solana({ payTo: SANDBOX_PAY_TO })), onSolana)).toMatch(/^payee_not_allowed: .*is not an address on Solana/)
    const allowList = policyOf({ paymentChain: 'solana', payees: SANDBOX_SOLANA_PAY_TO })
    expect(choosePayment(v2(solana()), allowList).allowed).toBe(true)
    expect(refused(v2(solana({ payTo: SANDBOX_SOLANA_PAY_TO.toLowerCase() })), allowList)).toMatch(/^payee_not_allowed/)
  })

  it('the per-request cap and the lifetime limit hold as on Base', () => {
    expect(refused(v2(solana({ amount: '600000' })), onSolana)).toMatch(/^max_per_request/)
    expect(refused(v2(solana({ maxTimeoutSeconds: 3600 })), onSolana)).toMatch(/^max_timeout_exceeded/)
  })
})
