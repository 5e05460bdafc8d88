/**
 * What the chain says of an authorization the upstream did not settle as far as we know.
 *
 * Every signed authorization counts against the budget for its whole 24 hours: the upstream's
 * "refused" cannot be verified, and a hostile upstream chooses the lifetime. Once an
 * authorization has expired, though, the token contract can tell: EIP-3009's
 * `authorizationState(authorizer, nonce)` is false for a nonce that was never used, and an
 * expired authorization can no longer be used, so it is money that will never leave. That is
 * the one way an authorization stops counting early. It is read through the RPC the wallet's
 * balance uses, only when a payment would otherwise be declined (never on the happy path), and
 * within a bound.
 *
 * @see https://eips.ethereum.org/EIPS/eip-3009
 */
import type { Ledger, PaymentRecord } from './ledger.js'
import { findNetwork, type KnownNetwork } from './networks.js'
import { USDC_VIEWS } from './usdc-abi.js'


/** Whether `nonce` of `authorizer` was used on `network`; undefined when the chain cannot say (offline, unknown network). */
export type AuthorizationStateReader = (network: KnownNetwork, authorizer: `0x${string}`, nonce: `0x${string}`) => Promise<boolean | undefined>

/** The reader over a JSON-RPC endpoint per network (viem's public client), each call within `timeoutMs`. */
export function authorizationStateReader(rpcUrl: (network: KnownNetwork) => string, timeoutMs = 3000): AuthorizationStateReader {
  return async (network, authorizer, nonce) => {
    const { createPublicClient, http } = await import('viem')
    const client = createPublicClient({ transport: http(rpcUrl(network), { timeout: timeoutMs, retryCount: 0 }) })
    try {
      const used = await client.readContract({ address: network.usdc, abi: USDC_VIEWS, functionName: 'authorizationState', args: [authorizer, nonce] })
      return typeof used === 'boolean' ? used : undefined
    } catch {
      return undefined
    }
  }
}

export type ReclaimParameters = {
  ledger: Ledger
  read: AuthorizationStateReader
  /** Most authorizations asked about in one go. */
  max?: number
}

/**
 * Asks the chain about the expired authorizations that still count against the budget, newest
 * first, and records each verdict. Returns how much stopped counting (base units).
 */
export async function reclaimExpired({ ledger, read, max = 16 }: ReclaimParameters): Promise<bigint> {
  let freed = 0n
  const candidates = (await ledger.unsettledExpired()).slice(0, max)
  const verdicts = await Promise.all(candidates.map(async (record) => ({ record, used: await stateOf(record, read) })))
  for (const { record, used } of verdicts) {
    if (used === undefined) continue
    await ledger.chainVerdict(record.id, used, `authorizationState(${record.payer}, ${record.nonce}) is ${used} on ${record.network}`)
    if (!used) freed += record.amount
  }
  return freed
}

function stateOf(record: PaymentRecord, read: AuthorizationStateReader): Promise<boolean | undefined> {
  const network = findNetwork(record.network)
  const payer = record.payer
  const nonce = record.nonce
  if (!network || !payer || !/^0x[0-9a-fA-F]{40}$/.test(payer) || !nonce || !/^0x[0-9a-fA-F]{64}$/.test(nonce)) return Promise.resolve(undefined)
  return read(network, payer as `0x${string}`, nonce as `0x${string}`)
}
