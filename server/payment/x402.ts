/**
 * The official x402 packages, loaded on first use (they pull in viem's crypto, which an MCP server
 * answering `tools/list` never needs). Header codecs, requirement parsing and EIP-3009 signing all
 * come from @x402/core and @x402/evm; nothing here re-derives the protocol. The Solana scheme
 * (@x402/svm) sits beside it in svm-signer.ts, loaded only when a Solana payment is signed.
 */
import type { LocalAccount } from 'viem'
import type { PaymentPayload, PaymentRequired, SettleResponse } from '@x402/core/types'
import { formatUsd } from '../money.js'
import { findNetwork } from './networks.js'
import type { TypedDataInput } from './typed-data-signer.js'

/**
 * What an authorization commits to, as it is signed. EVM: the EIP-3009 nonce and `validBefore`.
 * Solana: `nonce` is the payer's signature of the transfer, with the blockhash that bounds its life.
 */
export type AuthorizationTerms = { nonce: string; validBefore: string; blockhash?: string; lastValidBlockHeight?: string }

/**
 * Called with the terms of each authorization as it is signed (EVM: just before the signature is
 * computed, so its I/O overlaps the signing; Solana: once our signature exists, since it is what
 * identifies the transfer). The signature is returned only after the promise resolves, so
 * whatever it records (the ledger's `signed` line) is done before the payment can be used.
 */
export type BeforeSigning = (terms: AuthorizationTerms) => Promise<void>

export type SignOptions = {
  /** Build on fresh chain state (Solana: a new blockhash), for a payment that renews a refused one. */
  fresh?: boolean
}

export type X402Signer = {
  /** Signs a payment for `required`, which must list exactly the one requirement the policy chose. */
  sign(required: PaymentRequired, beforeSigning: BeforeSigning, options?: SignOptions): Promise<PaymentPayload>
  /** The request headers that carry `payload` (v2 `PAYMENT-SIGNATURE`, v1 `X-PAYMENT`). */
  headers(payload: PaymentPayload): Record<string, string>
}

type HeaderReader = (name: string) => string | null | undefined

let modules: Promise<{
  core: typeof import('@x402/core/client')
  evm: typeof import('@x402/evm/exact/client')
  /** Reads and writes headers only; holds no signer. */
  codec: import('@x402/core/client').x402HTTPClient
  signTypedData: typeof import('./typed-data-signer.js').signTypedDataCachingDomain
}> | undefined

function load() {
  modules ??= Promise.all([import('@x402/core/client'), import('@x402/evm/exact/client'), import('./typed-data-signer.js')]).then(([core, evm, typed]) => ({
    core,
    evm,
    codec: new core.x402HTTPClient(new core.x402Client()),
    signTypedData: typed.signTypedDataCachingDomain,
  }))
  return modules
}

/** Builds the EVM signer for `account`; the library's own spend control is set to our cap as a second fence. */
export async function createX402Signer(account: LocalAccount, maxPerRequest: bigint): Promise<X402Signer> {
  const { core, evm, codec, signTypedData } = await load()
  const maxAmountPerPayment = formatUsd(maxPerRequest)
  return {
    // A client per payment (a few small objects) carries that payment's hook to the signer.
    sign(required, beforeSigning) {
      const client = new core.x402Client()
      evm.registerExactEvmScheme(client, { signer: recordingSigner(account, beforeSigning, signTypedData) })
      client.setSpendControls({ maxAmountPerPayment })
      return new core.x402HTTPClient(client).createPaymentPayload(required)
    },
    headers: (payload) => codec.encodePaymentSignatureHeader(payload),
  }
}

/** `account`, with `beforeSigning` run alongside each typed-data signature. */
function recordingSigner(account: LocalAccount, beforeSigning: BeforeSigning, signTypedData: (account: LocalAccount, parameters: TypedDataInput) => Promise<`0x${string}`>): LocalAccount {
  return {
    ...account,
    async signTypedData(parameters) {
      const message = (parameters as { message?: Record<string, unknown> }).message ?? {}
      // EIP-3009 names the expiry validBefore; Permit2 calls it deadline.
      const recorded = beforeSigning({ nonce: String(message.nonce ?? ''), validBefore: String(message.validBefore ?? message.deadline ?? '') })
      let signature: `0x${string}`
      try {
        signature = await signTypedData(account, parameters as TypedDataInput)
      } catch (error) {
        await recorded.catch(() => undefined)
        throw error
      }
      await recorded
      return signature
    },
  }
}

/**
 * Reads a 402's requirements: v2 from the `PAYMENT-REQUIRED` header, v1 from the JSON body. Each
 * requirement's network is normalised here, once, to the spelling of its protocol version
 * (`eip155:84532`, `base-sepolia`) when it names a network we know: the policy, the signer and the
 * requirements cache then all see the same value (a `" EIP155:84532 "` the policy accepted but
 * the scheme could not sign once made a route fail for ten minutes).
 */
export async function readPaymentRequired(getHeader: HeaderReader, body: unknown): Promise<PaymentRequired> {
  const { codec } = await load()
  const required = codec.getPaymentRequiredResponse(getHeader, body)
  if (!Array.isArray(required.accepts)) return required
  const v1 = required.x402Version === 1
  return {
    ...required,
    accepts: required.accepts.map((accept) => {
      const network = typeof accept?.network === 'string' ? findNetwork(accept.network) : undefined
      return network ? { ...accept, network: (v1 ? network.v1 : network.caip2) as typeof accept.network } : accept
    }),
  }
}

/** A transaction id as BlockRun's `X-Payment-Receipt` carries it: an EVM hash or a Solana signature (base58). */
const TRANSACTION_ID = /^(?:0x[0-9a-fA-F]{64}|[1-9A-HJ-NP-Za-km-z]{64,90})$/

/**
 * Settlement evidence on a paid response: the x402 `PAYMENT-RESPONSE` (v2) or
 * `X-PAYMENT-RESPONSE` (v1) header, which `@x402/fetch` and so ClawRouter read; or BlockRun's
 * `X-Payment-Receipt`, a bare transaction id that BlockRun's own SDK reads (REFERENCE.md §1).
 * Either one settles. Undefined when there is none (or none that decodes).
 */
export async function readSettlement(getHeader: HeaderReader): Promise<SettleResponse | undefined> {
  const receipt = getHeader('X-Payment-Receipt')?.trim()
  const transaction = receipt && TRANSACTION_ID.test(receipt) ? receipt : undefined
  if (getHeader('PAYMENT-RESPONSE') || getHeader('X-PAYMENT-RESPONSE')) {
    const { codec } = await load()
    try {
      const settlement = codec.getPaymentSettleResponse(getHeader)
      // A success without its transaction takes the receipt's.
      if (settlement.success && !settlement.transaction && transaction) return { ...settlement, transaction }
      return settlement
    } catch {
      // an undecodable header: the receipt may still say what happened
    }
  }
  return transaction ? ({ success: true, transaction, network: '' } as unknown as SettleResponse) : undefined
}

/** True when `headers` carry any settlement evidence at all (see readSettlement), without decoding it. */
export function hasSettlementEvidence(headers: Headers): boolean {
  return headers.has('PAYMENT-RESPONSE') || headers.has('X-PAYMENT-RESPONSE') || headers.has('X-Payment-Receipt')
}
