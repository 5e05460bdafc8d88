/**
 * One authorization, from a 402's requirements to the headers that carry it, in the order that
 * is the payer's safety argument:
 *
 *   policy (pure) → budget reservation (ledger, shared by every process) → sign, with the ledger's
 *   `signed` line fsync'd alongside → headers.
 *
 * No signature exists unless the policy and the budget allowed it, and none leaves this process
 * before its `signed` line is on disk. Nothing here sends anything: the caller decides where the
 * headers go and records the outcome (sent-payment.ts).
 *
 * @see https://github.com/coinbase/x402/blob/main/specs/x402-specification.md
 */
import { randomUUID } from 'node:crypto'
import type { LocalAccount } from 'viem'
import type { PaymentPayload, PaymentRequired } from '@x402/core/types'
import type { SpendPolicy } from '../config.js'
import { ImagegenError } from '../errors.js'
import { checkCeilings, type CallCeilings } from './ceilings.js'
import { reclaimExpired, type AuthorizationStateReader } from './chain-state.js'
import type { Ledger, ReserveEntry } from './ledger.js'
import type { PaymentChain } from './networks.js'
import { choosePayment, type PaymentOption } from './policy.js'
import type { SolanaRpc } from './solana-rpc.js'
import type { SolanaAccount } from '../wallet/key.js'
import { createX402Signer, type AuthorizationTerms, type X402Signer } from './x402.js'

/** What the ledger records about the request a payment is for, and the call's own ceilings (ceilings.ts). */
export type PaymentContext = CallCeilings & {
  requestId: string
  endpoint: string
  model: string
  size: string
  n: number
  signal?: AbortSignal | undefined
}

export type SignedAuthorization = {
  /** The ledger's id for this payment. */
  id: string
  option: PaymentOption
  /** The requirements it was signed for, with exactly the chosen requirement. */
  required: PaymentRequired
  payload: PaymentPayload
  /** The request headers that carry it (v2 `PAYMENT-SIGNATURE`, v1 `X-PAYMENT`). */
  headers: Record<string, string>
}

export type AuthorizeParameters = {
  required: PaymentRequired
  context: PaymentContext
  /** The payment this one renews (a job's authorization that expired before the job completed). */
  replaces?: string | undefined
  /** Checks the option the policy chose before anything is reserved (a renewal must keep its terms). */
  accept?: ((option: PaymentOption) => void) | undefined
  /** Build on fresh chain state (Solana: a new blockhash); renewals always do. */
  fresh?: boolean | undefined
}

/** Clock difference allowed between this machine and the scheme's idea of now, when checking validBefore. */
const VALID_BEFORE_SLACK_SECONDS = 60

export type AuthorizerParameters = {
  /** The EVM (Base) address and account. */
  address: `0x${string}`
  account: () => Promise<LocalAccount>
  /** The Solana account and the RPC its payments read the mint and a blockhash through (svm-signer.ts). */
  solana?: SolanaAccount | undefined
  solanaRpc?: SolanaRpc | undefined
  policy: SpendPolicy
  ledger: Ledger
  /** Asks the chain whether expired authorizations were used, when the budget would decline (chain-state.ts). */
  authorizationState?: AuthorizationStateReader | undefined
}

export class Authorizer {
  /** One signer per chain, each scheme loaded with the first payment on its chain. */
  private readonly signers = new Map<PaymentChain, Promise<X402Signer>>()

  constructor(private readonly parameters: AuthorizerParameters) {}

  /** The wallet's address on `chain` (the payer a payment on it names), when the wallet has one there. */
  addressOn(chain: PaymentChain): string | undefined {
    return chain === 'solana' ? this.parameters.solana?.address : this.parameters.address
  }

  private signer(chain: PaymentChain): Promise<X402Signer> {
    let signer = this.signers.get(chain)
    if (!signer) {
      const { policy, account, solana, solanaRpc } = this.parameters
      signer =
        chain === 'solana'
          ? solana && solanaRpc
            ? import('./svm-signer.js').then(({ createSolanaX402Signer }) => createSolanaX402Signer(solana, solanaRpc, policy.maxPerRequest))
            : Promise.reject(new Error('this wallet has no Solana key'))
          : account().then((signingAccount) => createX402Signer(signingAccount, policy.maxPerRequest))
      // A failed load (a missing package, say) is tried again by the next payment.
      signer.catch(() => this.signers.delete(chain))
      this.signers.set(chain, signer)
    }
    return signer
  }

  /**
   * Chooses, reserves and signs. Throws the policy's or the budget's refusal (nothing signed), or
   * a signing error (the reservation released). The policy runs on every call, cached
   * requirements included.
   */
  async authorize({ required, context, replaces, accept, fresh }: AuthorizeParameters): Promise<SignedAuthorization> {
    const { policy, ledger } = this.parameters
    const decision = choosePayment(required, policy)
    if (!decision.allowed) throw decision.error
    const { option } = decision
    accept?.(option)
    // The caller's max_price and the user's consent above the threshold, before any reservation.
    checkCeilings(option, context, policy.confirmAbove)
    const address = this.addressOn(option.network.chain)
    if (!address) {
      throw new ImagegenError({ status: 402, type: 'payment_not_allowed', code: 'no_key_for_chain', message: `The upstream asks for payment on ${option.network.label}, but this wallet has no key there, so nothing was signed.` })
    }
    const id = await reserveOrReclaim(
      ledger,
      {
        id: randomUUID(),
        requestId: context.requestId,
        endpoint: context.endpoint,
        model: context.model,
        size: context.size,
        n: context.n,
        amount: option.amount,
        network: option.network.caip2,
        asset: option.asset,
        payTo: option.payTo,
        ...(replaces ? { replaces } : {}),
      },
      policy.dailyBudget,
      this.parameters.authorizationState,
    )

    const chosen: PaymentRequired = { ...required, accepts: [option.raw] }
    let ledgerError: unknown
    let payload: PaymentPayload
    let headers: Record<string, string>
    try {
      context.signal?.throwIfAborted()
      const signer = await this.signer(option.network.chain)
      // The `signed` line is written and fsync'd while the signature is computed; the payload
      // comes back only once the line is on disk. Only the payment's own authorization is
      // recorded: a scheme extension may sign more, and those calls wait for the same line.
      const recordSigned = async (terms: AuthorizationTerms) => {
        // The policy allowed this lifetime; the authorization must not outlive it, whatever the
        // scheme computed from the requirements (a second fence behind policy.ts).
        checkValidBefore(terms.validBefore, policy.maxTimeoutSeconds)
        try {
          await ledger.signed(id, { ...terms, x402Version: required.x402Version, payer: address })
        } catch (error) {
          ledgerError = error
          throw error
        }
      }
      let recorded: Promise<void> | undefined
      // A renewal is signed on fresh chain state (Solana: its blockhash may be what expired).
      payload = await signer.sign(chosen, (terms) => (recorded ??= recordSigned(terms)), { fresh: fresh === true || replaces !== undefined })
      headers = signer.headers(payload)
    } catch (error) {
      if (ledgerError !== undefined) {
        // No durable record, so the payment must not leave; nothing was sent.
        await ledger.closed(id, 'released', 'the ledger could not be written').catch(() => {})
        throw new ImagegenError({ status: 500, type: 'server_error', code: 'ledger_unavailable', message: `The payment ledger in ${ledger.path} could not be written, so nothing was paid.`, cause: ledgerError })
      }
      await ledger.closed(id, 'released', error instanceof Error ? error.message.slice(0, 200) : 'signing failed').catch(() => {})
      if (context.signal?.aborted) throw context.signal.reason
      if (error instanceof ImagegenError) throw error
      throw new ImagegenError({ status: 500, type: 'payment_failed', message: 'Could not sign the payment.', code: 'signing_failed', cause: error })
    }
    if (context.signal?.aborted) {
      // The authorization never left this process, so nobody can settle it.
      await ledger.closed(id, 'released', 'cancelled before sending')
      throw context.signal.reason
    }
    return { id, option, required: chosen, payload, headers }
  }
}

/**
 * The ledger's budget check, and when it declines, one look at the chain for
 * expired authorizations that never settled (they stop counting); if that freed anything, one
 * more try under a new id (the declined reservation stays in the ledger as declined).
 */
async function reserveOrReclaim(ledger: Ledger, entry: ReserveEntry, budget: bigint, read: AuthorizationStateReader | undefined): Promise<string> {
  try {
    await ledger.reserve(entry, budget)
    return entry.id
  } catch (error) {
    if (!read || !(error instanceof ImagegenError) || error.code !== 'daily_budget') throw error
    if ((await reclaimExpired({ ledger, read })) === 0n) throw error
    const id = randomUUID()
    await ledger.reserve({ ...entry, id }, budget)
    return id
  }
}

/** Throws unless `validBefore` (unix seconds, decimal) is within `maxSeconds` of now, plus clock slack. */
function checkValidBefore(validBefore: string, maxSeconds: number): void {
  const latest = BigInt(Math.floor(Date.now() / 1000) + maxSeconds + VALID_BEFORE_SLACK_SECONDS)
  if (/^\d{1,20}$/.test(validBefore) && BigInt(validBefore) <= latest) return
  throw new ImagegenError({
    status: 402,
    type: 'payment_not_allowed',
    code: 'max_timeout_exceeded',
    message: `The payment would have been valid until ${validBefore}, past the allowed lifetime of ${maxSeconds} s, so it was not signed.`,
  })
}
