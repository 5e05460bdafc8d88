/**
 * The official x402 packages, loaded on first use (they pull in viem's crypto, which an MCP server
 * answering `tools/list` never needs). Header codecs, requirement parsing and EIP-3009 signing all
 * come from @x402/core and @x402/evm; nothing here re-derives the protocol.
 */
import type { LocalAccount } from 'viem'
import type { PaymentPayload, PaymentRequired, SettleResponse } from '@x402/core/types'
import { formatUsd } from '../money.js'

export type X402Signer = {
  /** Signs a payment for `required`, which must list exactly the one requirement the policy chose. */
  sign(required: PaymentRequired): Promise<PaymentPayload>
  /** The request headers that carry `payload` (v2 `PAYMENT-SIGNATURE`, v1 `X-PAYMENT`). */
  headers(payload: PaymentPayload): Record<string, string>
}

type HeaderReader = (name: string) => string | null | undefined

let modules: Promise<{
  core: typeof import('@x402/core/client')
  evm: typeof import('@x402/evm/exact/client')
}> | undefined

function load() {
  modules ??= Promise.all([import('@x402/core/client'), import('@x402/evm/exact/client')]).then(([core, evm]) => ({ core, evm }))
  return modules
}

/** Builds a signer for `account`; the library's own spend control is set to our cap as a second fence. */
export async function createX402Signer(account: LocalAccount, maxPerRequest: bigint): Promise<X402Signer> {
  const { core, evm } = await load()
  const client = new core.x402Client()
  evm.registerExactEvmScheme(client, { signer: account })
  client.setSpendControls({ maxAmountPerPayment: formatUsd(maxPerRequest) })
  const http = new core.x402HTTPClient(client)
  return {
    sign: (required) => http.createPaymentPayload(required),
    headers: (payload) => http.encodePaymentSignatureHeader(payload),
  }
}

/** Reads a 402's requirements: v2 from the `PAYMENT-REQUIRED` header, v1 from the JSON body. */
export async function readPaymentRequired(getHeader: HeaderReader, body: unknown): Promise<PaymentRequired> {
  const { core } = await load()
  const http = new core.x402HTTPClient(new core.x402Client())
  return http.getPaymentRequiredResponse(getHeader, body)
}

/** Reads `PAYMENT-RESPONSE` (v2) or `X-PAYMENT-RESPONSE` (v1); undefined when neither is there or it does not decode. */
export async function readSettlement(getHeader: HeaderReader): Promise<SettleResponse | undefined> {
  if (!getHeader('PAYMENT-RESPONSE') && !getHeader('X-PAYMENT-RESPONSE')) return undefined
  const { core } = await load()
  const http = new core.x402HTTPClient(new core.x402Client())
  try {
    return http.getPaymentSettleResponse(getHeader)
  } catch {
    return undefined
  }
}
