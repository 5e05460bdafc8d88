/**
 * The sandbox's x402 paywall: requirements built and payments verified and settled through the
 * official resource server (`@x402/core/server` + `@x402/evm` exact scheme) over the sandbox
 * facilitator. v2 speaks headers (`PAYMENT-REQUIRED`, `PAYMENT-SIGNATURE`, `PAYMENT-RESPONSE`);
 * v1 puts the requirements in the body and uses `X-PAYMENT` / `X-PAYMENT-RESPONSE`.
 *
 * A settled payment's answer also carries `X-Payment-Receipt` with the transaction: BlockRun's SDK
 * reads that header on its paid responses (REFERENCE.md §1).
 *
 * On Solana the requirement is built by the official `@x402/svm` server scheme (the facilitator's
 * fee payer in `extra.feePayer`, from its supported kinds), in x402 v2 only: BlockRun's Solana
 * clients (its SDK, ClawRouter) pay v2, and no public source shows the gateway speaking v1 there.
 */
import { x402ResourceServer } from '@x402/core/server'
import { decodePaymentSignatureHeader, encodePaymentRequiredHeader, encodePaymentResponseHeader } from '@x402/core/http'
import type { PaymentPayload, PaymentRequirements, SettleResponse } from '@x402/core/types'
import { ExactEvmScheme } from '@x402/evm/exact/server'
import { ExactSvmScheme } from '@x402/svm/exact/server'
import type { KnownNetwork } from '../payment/networks.js'
import type { SandboxFacilitator } from './facilitator.js'

export type Quote = { amount: bigint; resource: string; description: string }

/** What the route does next: answer now (402 or error), or go on with a verified payment. */
export type Settlement = { ok: true; headers: Record<string, string>; transaction: string } | { ok: false; status: 402; body: unknown; headers: Record<string, string> }

export type PaywallOutcome =
  | { kind: 'respond'; status: 402; body: unknown; headers: Record<string, string> }
  | {
      kind: 'verified'
      /** The wallet the payment is from. */
      payer: string
      settle: () => Promise<Settlement>
    }

export type PaywallParameters = {
  facilitator: SandboxFacilitator
  network: KnownNetwork
  payTo: string
  version: 1 | 2
  maxTimeoutSeconds?: number
}

/**
 * The authorization window the gateway asks for: "The x402 authorization window is 600s" (BlockRun
 * SDK changelog 3.3.0); ClawRouter: "Server auth window is 10min".
 */
export const DEFAULT_MAX_TIMEOUT_SECONDS = 600

export class Paywall {
  private readonly server: x402ResourceServer
  private ready: Promise<void> | undefined

  get version(): 1 | 2 {
    return this.parameters.version
  }

  constructor(private readonly parameters: PaywallParameters) {
    this.server = new x402ResourceServer(parameters.facilitator)
    if (parameters.network.chain === 'solana') {
      if (parameters.version === 1) throw new Error('the sandbox speaks x402 v1 on EVM networks only')
      this.server.register(parameters.network.caip2, new ExactSvmScheme())
    } else {
      this.server.register(parameters.network.caip2, new ExactEvmScheme())
    }
  }

  /** Checks the request's payment header against `quote`. */
  async check(headers: Headers, quote: Quote): Promise<PaywallOutcome> {
    this.ready ??= this.server.initialize()
    await this.ready
    return this.parameters.version === 1 ? this.checkV1(headers, quote) : this.checkV2(headers, quote)
  }

  private async requirementsV2(quote: Quote): Promise<PaymentRequirements[]> {
    const { network, payTo } = this.parameters
    return this.server.buildPaymentRequirements({
      scheme: 'exact',
      payTo,
      network: network.caip2,
      maxTimeoutSeconds: this.parameters.maxTimeoutSeconds ?? DEFAULT_MAX_TIMEOUT_SECONDS,
      price: { amount: quote.amount.toString(), asset: network.usdc, extra: network.chain === 'base' ? { ...network.usdcDomain } : {} },
    })
  }

  private async checkV2(headers: Headers, quote: Quote): Promise<PaywallOutcome> {
    const requirements = await this.requirementsV2(quote)
    const resource = { url: quote.resource, description: quote.description, mimeType: 'application/json' }
    const unpaid = async (error: string, body: unknown): Promise<PaywallOutcome> => {
      const required = await this.server.createPaymentRequiredResponse(requirements, resource, error)
      return { kind: 'respond', status: 402, body, headers: { 'PAYMENT-REQUIRED': encodePaymentRequiredHeader(required) } }
    }
    const header = headers.get('payment-signature')
    if (!header) return unpaid('Payment required', { error: 'Payment required' })
    let payload: PaymentPayload
    try {
      payload = decodePaymentSignatureHeader(header)
    } catch {
      return unpaid('invalid_payment_header', { error: 'Payment verification failed', details: 'Malformed PAYMENT-SIGNATURE header' })
    }
    const matched = this.server.findMatchingRequirements(requirements, payload)
    if (!matched) return unpaid('no_matching_requirements', { error: 'Payment verification failed', details: 'The accepted requirement does not match this resource' })
    const verification = await this.server.verifyPayment(payload, matched)
    if (!verification.isValid) {
      return unpaid(verification.invalidReason ?? 'invalid_payment', {
        error: 'Payment verification failed',
        details: `Verification failed: ${JSON.stringify(verification)}`,
      })
    }
    return {
      kind: 'verified',
      payer: verification.payer ?? '',
      settle: async () => {
        const settlement = await this.server.settlePayment(payload, matched).catch((error: unknown): SettleResponse => ({
          success: false,
          errorReason: error instanceof Error ? error.message : 'settlement_error',
          transaction: '',
          network: matched.network,
        }))
        const responseHeader = { 'PAYMENT-RESPONSE': encodePaymentResponseHeader(settlement) }
        if (settlement.success) return { ok: true, headers: { ...responseHeader, 'X-Payment-Receipt': settlement.transaction }, transaction: settlement.transaction }
        return { ok: false, status: 402, body: { error: 'Settlement failed', details: JSON.stringify(settlement) }, headers: responseHeader }
      },
    }
  }

  private async checkV1(headers: Headers, quote: Quote): Promise<PaywallOutcome> {
    const { network, payTo, facilitator } = this.parameters
    const requirement = {
      scheme: 'exact',
      network: network.v1,
      maxAmountRequired: quote.amount.toString(),
      resource: quote.resource,
      description: quote.description,
      mimeType: 'application/json',
      payTo,
      maxTimeoutSeconds: this.parameters.maxTimeoutSeconds ?? DEFAULT_MAX_TIMEOUT_SECONDS,
      asset: network.usdc,
      extra: network.chain === 'base' ? { ...network.usdcDomain } : {},
    } as unknown as PaymentRequirements
    const unpaid = (error: string): PaywallOutcome => ({ kind: 'respond', status: 402, body: { x402Version: 1, error, accepts: [requirement] }, headers: {} })
    const header = headers.get('x-payment')
    if (!header) return unpaid('X-PAYMENT header is required')
    let payload: PaymentPayload
    try {
      payload = JSON.parse(Buffer.from(header, 'base64').toString('utf8')) as PaymentPayload
    } catch {
      return unpaid('invalid_payment_header')
    }
    const verification = await facilitator.verify(payload, requirement)
    if (!verification.isValid) return unpaid(verification.invalidReason ?? 'invalid_payment')
    return {
      kind: 'verified',
      payer: verification.payer ?? '',
      settle: async () => {
        const settlement = await facilitator.settle(payload, requirement)
        const responseHeader = { 'X-PAYMENT-RESPONSE': encodePaymentResponseHeader(settlement) }
        if (settlement.success) return { ok: true, headers: { ...responseHeader, 'X-Payment-Receipt': settlement.transaction }, transaction: settlement.transaction }
        return { ok: false, status: 402, body: { x402Version: 1, error: settlement.errorReason ?? 'settlement_failed', accepts: [requirement] }, headers: responseHeader }
      },
    }
  }
}
