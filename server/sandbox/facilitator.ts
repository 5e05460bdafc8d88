/**
 * An in-process x402 facilitator over the sandbox USDC ledgers. It implements the official
 * `FacilitatorClient` interface, so the official resource server drives it, and checks what a real
 * one checks for an EVM `exact` payment: the EIP-712 signature recovers to `from` (viem), `to` is the
 * payee, `value` equals the price, the time window holds, the nonce is fresh, the balance covers it.
 * A Solana `exact` payment is checked and landed by the sandbox's Solana (solana.ts), and the
 * facilitator's fee payer is advertised in the supported kinds, as `extra.feePayer` reaches a 402.
 */
import type { FacilitatorClient } from '@x402/core/server'
import type { PaymentPayload, PaymentRequirements, SettleResponse, SupportedResponse, VerifyResponse } from '@x402/core/types'
import { getAddress, verifyTypedData } from 'viem'
import { findNetwork, SOLANA, SOLANA_DEVNET } from '../payment/networks.js'
import type { SandboxSolana } from './solana.js'
import type { SandboxUsdc } from './usdc.js'

type Authorization = { from: string; to: string; value: string; validAfter: string; validBefore: string; nonce: string }
type ExactPayload = { signature?: string; authorization?: Authorization }

/** EIP-3009's typed-data types, as USDC defines them. */
export const TRANSFER_WITH_AUTHORIZATION = {
  TransferWithAuthorization: [
    { name: 'from', type: 'address' },
    { name: 'to', type: 'address' },
    { name: 'value', type: 'uint256' },
    { name: 'validAfter', type: 'uint256' },
    { name: 'validBefore', type: 'uint256' },
    { name: 'nonce', type: 'bytes32' },
  ],
} as const

export type SandboxFacilitatorStats = { verified: number; rejected: number; settled: number }

/** Signature checks remembered; a paid request is checked twice (verify, then settle), moments apart. */
const MAX_REMEMBERED_SIGNATURES = 1024

export class SandboxFacilitator implements FacilitatorClient {
  readonly stats: SandboxFacilitatorStats = { verified: 0, rejected: 0, settled: 0 }
  /**
   * Whether a signature recovers to `from`, by everything it signs: recovering the key costs a
   * few ms of JavaScript, and settle would otherwise repeat what verify just found. The answer is
   * a pure function of the key, so remembering it changes no outcome.
   */
  private readonly signatureChecks = new Map<string, boolean>()

  constructor(
    private readonly usdc: SandboxUsdc,
    private readonly solana?: SandboxSolana,
  ) {}

  async getSupported(): Promise<SupportedResponse> {
    return {
      kinds: [
        { x402Version: 2, scheme: 'exact', network: 'eip155:84532' },
        { x402Version: 2, scheme: 'exact', network: 'eip155:8453' },
        { x402Version: 1, scheme: 'exact', network: 'base-sepolia' },
        { x402Version: 1, scheme: 'exact', network: 'base' },
        ...(this.solana ? [SOLANA_DEVNET, SOLANA].map((n) => ({ x402Version: 2, scheme: 'exact', network: n.caip2, extra: { feePayer: this.solana!.feePayer } })) : []),
      ],
      extensions: [],
      signers: {},
    } as SupportedResponse
  }

  async verify(payload: PaymentPayload, requirements: PaymentRequirements): Promise<VerifyResponse> {
    if (findNetwork(requirements.network)?.chain === 'solana') return this.verifySolana(payload, requirements)
    const reason = await this.check(payload, requirements)
    const payer = (payload.payload as ExactPayload).authorization?.from
    if (reason) {
      this.stats.rejected++
      return { isValid: false, invalidReason: reason, ...(payer ? { payer } : {}) } as VerifyResponse
    }
    this.stats.verified++
    return { isValid: true, payer } as VerifyResponse
  }

  async settle(payload: PaymentPayload, requirements: PaymentRequirements): Promise<SettleResponse> {
    if (findNetwork(requirements.network)?.chain === 'solana') return this.settleSolana(payload, requirements)
    const network = requirements.network
    const reason = await this.check(payload, requirements)
    const auth = (payload.payload as ExactPayload).authorization
    if (reason || !auth) return { success: false, errorReason: reason ?? 'invalid_payload', transaction: '', network, payer: auth?.from } as SettleResponse
    const result = this.usdc.transfer(auth.from, auth.to, BigInt(auth.value), auth.nonce, network)
    if (typeof result === 'string') return { success: false, errorReason: result === 'nonce_used' ? 'invalid_exact_evm_payload_authorization_nonce_used' : 'insufficient_funds', transaction: '', network, payer: auth.from } as SettleResponse
    this.stats.settled++
    return { success: true, transaction: result.transaction, network, payer: auth.from } as SettleResponse
  }

  private async checkSolana(payload: PaymentPayload, requirements: PaymentRequirements) {
    const transaction = (payload.payload as { transaction?: unknown } | undefined)?.transaction
    if (!this.solana || typeof transaction !== 'string') return { ok: false as const, reason: 'invalid_exact_svm_payload_transaction' }
    if (payload.accepted?.scheme !== 'exact' || requirements.scheme !== 'exact') return { ok: false as const, reason: 'invalid_exact_svm_unsupported_scheme' }
    if (payload.accepted?.network !== requirements.network) return { ok: false as const, reason: 'invalid_exact_svm_network_mismatch' }
    return this.solana.check(transaction, requirements)
  }

  private async verifySolana(payload: PaymentPayload, requirements: PaymentRequirements): Promise<VerifyResponse> {
    const checked = await this.checkSolana(payload, requirements)
    if (!checked.ok) {
      this.stats.rejected++
      return { isValid: false, invalidReason: checked.reason, ...(checked.payer ? { payer: checked.payer } : {}) } as VerifyResponse
    }
    this.stats.verified++
    return { isValid: true, payer: checked.payer } as VerifyResponse
  }

  private async settleSolana(payload: PaymentPayload, requirements: PaymentRequirements): Promise<SettleResponse> {
    const network = requirements.network
    const checked = await this.checkSolana(payload, requirements)
    if (!checked.ok) return { success: false, errorReason: checked.reason, transaction: '', network, payer: checked.payer } as SettleResponse
    const landed = this.solana!.settle(checked.transfer, network)
    if (typeof landed === 'string') return { success: false, errorReason: landed, transaction: '', network, payer: checked.payer } as SettleResponse
    this.stats.settled++
    return { success: true, transaction: landed.transaction, network, payer: checked.payer } as SettleResponse
  }

  /** Returns the first reason the payment is invalid, or undefined. */
  private async check(payload: PaymentPayload, requirements: PaymentRequirements): Promise<string | undefined> {
    const exact = payload.payload as ExactPayload
    const auth = exact?.authorization
    if (!auth || typeof exact.signature !== 'string') return 'invalid_payload'
    const v1 = payload.x402Version === 1
    const scheme = v1 ? (payload as unknown as { scheme?: string }).scheme : payload.accepted?.scheme
    const payloadNetwork = v1 ? (payload as unknown as { network?: string }).network : payload.accepted?.network
    if (scheme !== 'exact' || requirements.scheme !== 'exact') return 'unsupported_scheme'
    if (payloadNetwork !== requirements.network) return 'invalid_network'
    const network = findNetwork(requirements.network)
    if (!network || network.chain !== 'base') return 'invalid_network'
    const extra = requirements.extra as { name?: string; version?: string } | undefined
    if (!extra?.name || !extra.version) return 'invalid_exact_evm_missing_eip712_domain'
    const domain = { name: extra.name, version: extra.version, chainId: network.chainId, asset: requirements.asset }
    if (!(await this.signatureRecoversToFrom(auth, exact.signature, domain))) return 'invalid_exact_evm_payload_signature'
    if (getAddress(auth.to) !== getAddress(requirements.payTo)) return 'invalid_exact_evm_payload_recipient_mismatch'
    const price = v1 ? (requirements as unknown as { maxAmountRequired: string }).maxAmountRequired : requirements.amount
    if (BigInt(auth.value) !== BigInt(price)) return 'invalid_exact_evm_payload_authorization_value'
    const now = BigInt(Math.floor(Date.now() / 1000))
    if (BigInt(auth.validBefore) < now + 6n) return 'invalid_exact_evm_payload_authorization_valid_before'
    if (BigInt(auth.validAfter) > now) return 'invalid_exact_evm_payload_authorization_valid_after'
    if (this.usdc.isNonceUsed(auth.from, auth.nonce)) return 'invalid_exact_evm_payload_authorization_nonce_used'
    if (this.usdc.balanceOf(auth.from) < BigInt(auth.value)) return 'insufficient_funds'
    return undefined
  }

  private async signatureRecoversToFrom(auth: Authorization, signature: string, domain: { name: string; version: string; chainId: number; asset: string }): Promise<boolean> {
    const key = JSON.stringify([domain.name, domain.version, domain.chainId, domain.asset, auth.from, auth.to, auth.value, auth.validAfter, auth.validBefore, auth.nonce, signature])
    const known = this.signatureChecks.get(key)
    if (known !== undefined) return known
    let valid = false
    try {
      valid = await verifyTypedData({
        address: getAddress(auth.from),
        domain: { name: domain.name, version: domain.version, chainId: domain.chainId, verifyingContract: getAddress(domain.asset) },
        types: TRANSFER_WITH_AUTHORIZATION,
        primaryType: 'TransferWithAuthorization',
        message: {
          from: getAddress(auth.from),
          to: getAddress(auth.to),
          value: BigInt(auth.value),
          validAfter: BigInt(auth.validAfter),
          validBefore: BigInt(auth.validBefore),
          nonce: auth.nonce as `0x${string}`,
        },
        signature: signature as `0x${string}`,
      })
    } catch {
      valid = false
    }
    // Oldest first out: a Map iterates in insertion order.
    if (this.signatureChecks.size >= MAX_REMEMBERED_SIGNATURES) this.signatureChecks.delete(this.signatureChecks.keys().next().value!)
    this.signatureChecks.set(key, valid)
    return valid
  }
}
