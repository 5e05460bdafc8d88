/**
 * What the chain says of an authorization the upstream did not settle as far as we know.
 *
 * Every signed authorization counts against the budget for its whole 24 hours: the upstream's
 * "refused" cannot be verified, and a hostile upstream chooses the lifetime. Once an
 * authorization can no longer be used, though, the chain can tell whether it was, and an unused
 * one is money that will never leave: that is the one way an authorization stops counting early.
 * It is read through the RPC the wallet's balance uses, only when a payment would otherwise be
 * declined (never on the happy path), and within a bound.
 *
 * - EVM: EIP-3009's `authorizationState(authorizer, nonce)` is false for a nonce never used, and
 *   an authorization past `validBefore` by the latest block's timestamp can no longer be used.
 * - Solana: the transfer is a transaction the payer partially signed; the gateway's facilitator
 *   adds the fee payer's signature, and a transaction's id is that first signature, which we never
 *   see: so `getSignatureStatuses` cannot be asked. What we know is our own signature and the
 *   blockhash: once `isBlockhashValid` is false the transaction can never land, and whether it
 *   did is whether one of the payer's transactions since the signing carries our signature
 *   (`getSignaturesForAddress` + `getTransaction`, payment/solana-rpc.ts).
 *
 * @see https://eips.ethereum.org/EIPS/eip-3009
 * @see https://solana.com/docs/core/transactions#recent-blockhash
 */
import type { Ledger, PaymentRecord } from './ledger.js'
import { findNetwork, type KnownNetwork } from './networks.js'
import type { SolanaRpc } from './solana-rpc.js'
import { USDC_VIEWS } from './usdc-abi.js'

/** Whether the authorization `record` holds was used on `network`; undefined when the chain cannot say (offline, not expired yet, unknown network). */
export type AuthorizationStateReader = (network: KnownNetwork, record: PaymentRecord) => Promise<boolean | undefined>

/** The reader over a JSON-RPC endpoint per network (viem's public client for EVM; `solana` for Solana), each call within `timeoutMs`. */
export function authorizationStateReader(rpcUrl: (network: KnownNetwork) => string, timeoutMs = 3000, solana?: SolanaRpc): AuthorizationStateReader {
  return async (network, record) => {
    const payer = record.payer
    const nonce = record.nonce
    if (network.chain === 'solana') {
      if (!solana || !payer || !nonce || !record.blockhash) return undefined
      return solana.transferLanded(network, payer, nonce, record.blockhash, Math.floor(record.time / 1000) - 60).catch(() => undefined)
    }
    if (!payer || !/^0x[0-9a-fA-F]{40}$/.test(payer) || !nonce || !/^0x[0-9a-fA-F]{64}$/.test(nonce)) return undefined
    const { createPublicClient, http } = await import('viem')
    const client = createPublicClient({ transport: http(rpcUrl(network), { timeout: timeoutMs, retryCount: 0 }) })
    try {
      // Expired by the chain's clock, not only by ours (which may run ahead): an authorization the
      // chain still takes as valid could yet be used, so it is not judged.
      const latest = await client.getBlock({ blockTag: 'latest' })
      if (record.validBefore === undefined || latest.timestamp <= BigInt(record.validBefore)) return undefined
      const used = await client.readContract({ address: network.usdc, abi: USDC_VIEWS, functionName: 'authorizationState', args: [payer as `0x${string}`, nonce as `0x${string}`] })
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
    const reason = record.blockhash
      ? `the transfer ${record.payer} signed (${record.nonce}, blockhash ${record.blockhash}, now expired) ${used ? 'landed' : 'never landed'} on ${record.network}`
      : `authorizationState(${record.payer}, ${record.nonce}) is ${used} on ${record.network}`
    await ledger.chainVerdict(record.id, used, reason)
    if (!used) freed += record.amount
  }
  return freed
}

function stateOf(record: PaymentRecord, read: AuthorizationStateReader): Promise<boolean | undefined> {
  const network = findNetwork(record.network)
  return network ? read(network, record) : Promise.resolve(undefined)
}
