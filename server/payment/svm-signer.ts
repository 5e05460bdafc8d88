/**
 * The Solana `exact` payment scheme, beside the EVM one (x402.ts): the official @x402/svm client
 * builds the transaction (compute budget, SPL TransferChecked of the mint from the payer's token
 * account to the payee's, a random memo that keeps every payment distinct; the fee payer is the
 * gateway's facilitator, named in `extra.feePayer`) and the wallet's key pair partially signs it,
 * as ClawRouter pays on Solana (`registerExactSvmScheme(client, {signer})`, REFERENCE.md §1).
 *
 * The scheme reads two things over Solana RPC for each payment: the mint (its token program and
 * decimals) and a recent blockhash. Both are read here instead, through the product's bounded
 * RPC client (solana-rpc.ts): the mint once per process, the blockhash reused for a few seconds.
 * The scheme is handed the mint through its mint cache and the blockhash through the
 * requirement's `extra.recentBlockhash`, which it uses as given (it is the field a gateway may
 * send itself); the payment's `accepted` is still the requirement exactly as the gateway sent it,
 * since @x402/core builds it from the requirement the client chose, not from what the scheme saw.
 *
 * Loaded only when a Solana payment is signed: a Base-only home never imports @solana/kit.
 *
 * @see https://github.com/coinbase/x402/blob/main/specs/schemes/exact/scheme_exact_svm.md
 */
import type { TransactionPartialSigner } from '@solana/kit'
import type { PaymentRequirements } from '@x402/core/types'
import { formatUsd } from '../money.js'
import type { SolanaAccount } from '../wallet/key.js'
import { base58Encode } from '../wallet/base58.js'
import { findNetwork } from './networks.js'
import { SolanaRpcError, type SolanaRpc } from './solana-rpc.js'
import { ImagegenError } from '../errors.js'
import type { BeforeSigning, X402Signer } from './x402.js'

/** Where @x402/svm's client scheme keeps the mints it read (`${network}:${mint}`), pinned to @x402/svm ~2.27. */
type MintCache = Map<string, Promise<{ decimals: number; programAddress: string }>>

export async function createSolanaX402Signer(account: SolanaAccount, rpc: SolanaRpc, maxPerRequest: bigint): Promise<X402Signer> {
  const [core, svm, keyPair] = await Promise.all([import('@x402/core/client'), import('@x402/svm/exact/client'), account.signer()])
  const codec = new core.x402HTTPClient(new core.x402Client())
  const maxAmountPerPayment = formatUsd(maxPerRequest)
  const mintCache: MintCache = new Map()
  return {
    async sign(required, beforeSigning, options) {
      const requirement = required.accepts[0]
      const network = requirement ? findNetwork(requirement.network) : undefined
      if (!requirement || network?.chain !== 'solana') throw new Error('not a Solana requirement')
      if (required.x402Version !== 2) {
        // BlockRun's Solana clients (its SDK, ClawRouter) pay x402 v2; no public source shows a v1 Solana gateway.
        throw new ImagegenError({ status: 402, type: 'payment_not_allowed', code: 'x402_version_not_supported', message: `The upstream asks for an x402 v${required.x402Version} payment on ${network.label}; Solana is paid with x402 v2 only, so nothing was signed.` })
      }
      const [mint, recent] = await Promise.all([rpc.mint(network, requirement.asset), rpc.latestBlockhash(network, options?.fresh)]).catch((error: unknown) => {
        // The RPC is the user's setting: say which one failed and how to change it.
        if (error instanceof SolanaRpcError) throw new ImagegenError({ status: 502, type: 'upstream_error', code: 'solana_rpc_unavailable', message: `${error.message} Nothing was signed.`, cause: error })
        throw error
      })
      // Amounts are base units of USDC's 6 decimals everywhere here; a mint that says otherwise is not the USDC we price in.
      if (mint.decimals !== network.decimals) {
        throw new ImagegenError({ status: 402, type: 'payment_not_allowed', code: 'asset_not_allowed', message: `The mint ${requirement.asset} has ${mint.decimals} decimals on ${network.label}, not USDC's ${network.decimals}, so nothing was signed.` })
      }
      mintCache.set(`${requirement.network}:${requirement.asset}`, Promise.resolve(mint))

      const validBefore = String(Math.floor(Date.now() / 1000) + requirement.maxTimeoutSeconds)
      const signer = recordingSigner(keyPair, (nonce) => beforeSigning({ nonce, validBefore, blockhash: recent.blockhash, lastValidBlockHeight: recent.lastValidBlockHeight.toString() }))
      const scheme = new svm.ExactSvmScheme(signer, { rpcUrl: rpc.urlFor(network) })
      ;(scheme as unknown as { mintCache: MintCache }).mintCache = mintCache
      const client = new core.x402Client()
      client.register(network.caip2, {
        scheme: 'exact',
        // The library's spend control knows USDC's mints through the scheme's default assets.
        findDefaultAsset: (asset: string, network: string) => scheme.findDefaultAsset(asset, network as never),
        createPaymentPayload: (version, chosen) => scheme.createPaymentPayload(version, withBlockhash(chosen, recent)),
      })
      client.setSpendControls({ maxAmountPerPayment })
      return new core.x402HTTPClient(client).createPaymentPayload(required)
    },
    headers: (payload) => codec.encodePaymentSignatureHeader(payload),
  }
}

/**
 * The requirement as the scheme should see it: always with the blockhash we read (and record in
 * the ledger), even when the gateway named one. Signing on the gateway's would leave the ledger
 * judging the wrong blockhash's expiry, and a value the scheme cannot use makes it fetch one of its
 * own without a time limit. (The payload's `accepted` still echoes the gateway's requirement.)
 */
function withBlockhash(requirement: PaymentRequirements, recent: { blockhash: string; lastValidBlockHeight: bigint }): PaymentRequirements {
  const extra = (requirement.extra ?? {}) as Record<string, unknown>
  return { ...requirement, extra: { ...extra, recentBlockhash: recent.blockhash, lastValidBlockHeight: recent.lastValidBlockHeight.toString() } }
}

/**
 * The key pair, recording each transfer it signs before the signature is handed back: the
 * payer's signature identifies the transfer (the ledger's `nonce`), so it is computed first
 * (ed25519, microseconds) and returned once `record` has written it.
 */
function recordingSigner(keyPair: TransactionPartialSigner, record: (signature: string) => Promise<void>): TransactionPartialSigner {
  return {
    address: keyPair.address,
    async signTransactions(transactions, config) {
      const signatures = await keyPair.signTransactions(transactions, config)
      const ours = signatures[0]?.[keyPair.address]
      if (!ours || signatures.length !== 1) throw new Error('expected one transaction signed by the wallet')
      await record(base58Encode(ours))
      return signatures
    },
  }
}


