/**
 * The sandbox's Solana: a USDC ledger by owner, a chain of blockhashes, the facilitator's fee
 * payer, and offline verification and settlement of x402 `exact` SVM payments, in memory. It
 * stands in for the Solana cluster and the gateway's facilitator, so the checks are real checks:
 *
 * - the transaction decodes (a v0 or legacy message, no address lookup tables), its fee payer is
 *   the facilitator's (`extra.feePayer`) and the fee payer moves no funds;
 * - its instructions are laid out as @x402/svm's facilitator requires (its "static path"): compute
 *   unit limit, compute unit price (at most 5 lamports per CU), TransferChecked of the token
 *   program, then only Memo or Lighthouse instructions;
 * - the transfer is of the requirement's mint with USDC's 6 decimals, exactly the amount asked,
 *   from the authority's associated token account to the payee's (PDAs derived as the Associated
 *   Token Account program does);
 * - the authority's ed25519 signature over the message verifies (Node's crypto);
 * - the blockhash is one this chain issued and has not expired: 150 blocks, Solana's
 *   MAX_PROCESSING_AGE, a block every `blockMs`;
 * - the transfer was not settled before (replay) and the owner's balance covers it.
 *
 * Settling debits and credits the ledger and co-signs as the fee payer: the transaction's id is
 * the fee payer's signature, as on Solana. Nothing here reaches a real cluster; the network is
 * devnet and the mint devnet USDC, so a real key pointed at the sandbox never signs anything
 * valid on mainnet.
 *
 * @see https://github.com/coinbase/x402/blob/main/specs/schemes/exact/scheme_exact_svm.md
 * @see https://solana.com/docs/core/transactions
 */
import { createHash, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto'
import { address, getAddressEncoder, getBase64Encoder, getCompiledTransactionMessageDecoder, getProgramDerivedAddress, getTransactionDecoder } from '@solana/kit'
import { base58Decode, base58Encode } from '../wallet/base58.js'

export const TOKEN_PROGRAM = 'TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA'
export const TOKEN_2022_PROGRAM = 'TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb'
const ASSOCIATED_TOKEN_PROGRAM = 'ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL'
const COMPUTE_BUDGET_PROGRAM = 'ComputeBudget111111111111111111111111111111'
const MEMO_PROGRAM = 'MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr'
const LIGHTHOUSE_PROGRAM = 'L2TExMFKdjpN9kozasaurPirfHy9P8sbXoAN1qA3S95'
/** @x402/svm: MAX_COMPUTE_UNIT_PRICE_MICROLAMPORTS. */
const MAX_COMPUTE_UNIT_PRICE = 5_000_000n
/** Solana's MAX_PROCESSING_AGE: a blockhash lands transactions for 150 blocks. */
export const BLOCKHASH_LIFETIME_BLOCKS = 150
const FIRST_HEIGHT = 300_000_000
const USDC_DECIMALS = 6

export type SolanaTransfer = {
  /** The transaction id: the fee payer's signature (base58). */
  transaction: string
  /** The payer's own signature (base58): what the payer recorded. */
  payerSignature: string
  from: string
  to: string
  amount: bigint
  network: string
  slot: number
  time: number
}

export type SolanaCheck = { ok: true; payer: string; transfer: DecodedTransfer } | { ok: false; reason: string; payer?: string }

type DecodedTransfer = { authority: string; payTo: string; amount: bigint; blockhash: string; payerSignature: string; messageBytes: Uint8Array; memo: string | undefined }

export class SandboxSolana {
  private readonly balances = new Map<string, bigint>()
  private readonly settledSignatures = new Set<string>()
  readonly transfers: SolanaTransfer[] = []
  /** Blockhashes handed out, with the height each was issued at. */
  private readonly issued = new Map<string, number>()
  private readonly started = Date.now()
  private readonly feePayerKey: KeyObject
  readonly feePayer: string

  constructor(
    /** Milliseconds per block (Solana: about 400). */
    private readonly blockMs = 400,
  ) {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519')
    this.feePayerKey = privateKey
    this.feePayer = base58Encode(Buffer.from((publicKey.export({ format: 'jwk' }) as { x: string }).x, 'base64url'))
  }

  fund(owner: string, amount: bigint): void {
    this.balances.set(owner, this.balanceOf(owner) + amount)
  }

  balanceOf(owner: string): bigint {
    return this.balances.get(owner) ?? 0n
  }

  /** Owners that hold (or held) a token account: what getTokenAccountsByOwner finds. */
  hasAccount(owner: string): boolean {
    return this.balances.has(owner)
  }

  height(now = Date.now()): number {
    return FIRST_HEIGHT + Math.floor((now - this.started) / this.blockMs)
  }

  /** The current blockhash and the last height it lands transactions at. */
  latestBlockhash(): { blockhash: string; lastValidBlockHeight: number; slot: number } {
    const height = this.height()
    const blockhash = base58Encode(createHash('sha256').update(`sandbox-block:${this.started}:${height}`).digest())
    this.issued.set(blockhash, height)
    return { blockhash, lastValidBlockHeight: height + BLOCKHASH_LIFETIME_BLOCKS, slot: height }
  }

  isBlockhashValid(blockhash: string): boolean {
    const height = this.issued.get(blockhash)
    return height !== undefined && this.height() <= height + BLOCKHASH_LIFETIME_BLOCKS
  }

  settled(payerSignature: string): boolean {
    return this.settledSignatures.has(payerSignature)
  }

  /** Checks a base64 transaction against a requirement (mint, payee, amount); returns the payer or the reason it is invalid. */
  async check(transaction: string, requirement: { asset: string; payTo: string; amount: string }): Promise<SolanaCheck> {
    const decoded = decodeTransfer(transaction, this.feePayer)
    if ('reason' in decoded) return { ok: false, reason: decoded.reason }
    const payer = decoded.authority
    const refuse = (reason: string): SolanaCheck => ({ ok: false, reason, payer })
    if (decoded.mint !== requirement.asset) return refuse('invalid_exact_svm_payload_mint_mismatch')
    if (decoded.destination !== (await associatedTokenAddress(requirement.payTo, requirement.asset, decoded.tokenProgram))) return refuse('invalid_exact_svm_payload_recipient_mismatch')
    if (decoded.source !== (await associatedTokenAddress(payer, requirement.asset, decoded.tokenProgram))) return refuse('invalid_exact_svm_payload_transaction')
    if (decoded.amount !== BigInt(requirement.amount)) return refuse('invalid_exact_svm_payload_amount_mismatch')
    if (!verifySignature(payer, decoded.messageBytes, decoded.signature)) return refuse('invalid_exact_svm_payload_signature_invalid')
    // BlockRun's gateway names this `payment_blockhash_stale` (BlockRun SDK: isSafeStaleBlockhashResponse).
    if (!this.isBlockhashValid(decoded.blockhash)) return refuse('payment_blockhash_stale')
    if (this.settledSignatures.has(decoded.payerSignature)) return refuse('duplicate_settlement')
    if (this.balanceOf(payer) < decoded.amount) return refuse('insufficient_funds')
    return { ok: true, payer, transfer: { authority: payer, payTo: requirement.payTo, amount: decoded.amount, blockhash: decoded.blockhash, payerSignature: decoded.payerSignature, messageBytes: decoded.messageBytes, memo: decoded.memo } }
  }

  /** Lands a checked transfer: moves the funds and co-signs as the fee payer, all at once. */
  settle(transfer: DecodedTransfer, network: string): SolanaTransfer | 'insufficient_funds' | 'duplicate_settlement' {
    if (this.settledSignatures.has(transfer.payerSignature)) return 'duplicate_settlement'
    if (this.balanceOf(transfer.authority) < transfer.amount) return 'insufficient_funds'
    this.settledSignatures.add(transfer.payerSignature)
    this.balances.set(transfer.authority, this.balanceOf(transfer.authority) - transfer.amount)
    this.fund(transfer.payTo, transfer.amount)
    const landed: SolanaTransfer = {
      transaction: base58Encode(sign(null, transfer.messageBytes, this.feePayerKey)),
      payerSignature: transfer.payerSignature,
      from: transfer.authority,
      to: transfer.payTo,
      amount: transfer.amount,
      network,
      slot: this.height(),
      time: Date.now(),
    }
    this.transfers.push(landed)
    return landed
  }

  settledTotal(): bigint {
    return this.transfers.reduce((sum, t) => sum + t.amount, 0n)
  }
}

/** The associated token account of `owner` for `mint` (the ATA program's PDA). */
export async function associatedTokenAddress(owner: string, mint: string, tokenProgram = TOKEN_PROGRAM): Promise<string> {
  const encoder = getAddressEncoder()
  const [pda] = await getProgramDerivedAddress({
    programAddress: address(ASSOCIATED_TOKEN_PROGRAM),
    seeds: [encoder.encode(address(owner)), encoder.encode(address(tokenProgram)), encoder.encode(address(mint))],
  })
  return pda
}

/** The wallet that signs the transfer in an x402 SVM payment (the TransferChecked authority), or undefined. */
export function solanaPayerOf(transaction: string): string | undefined {
  const decoded = decodeTransfer(transaction, undefined)
  return 'reason' in decoded ? undefined : decoded.authority
}

type Decoded = {
  authority: string
  source: string
  mint: string
  destination: string
  tokenProgram: string
  amount: bigint
  blockhash: string
  messageBytes: Uint8Array
  signature: Uint8Array
  payerSignature: string
  memo: string | undefined
}

function decodeTransfer(transaction: string, feePayer: string | undefined): Decoded | { reason: string } {
  let messageBytes: Uint8Array
  let signatures: Readonly<Record<string, Uint8Array | null>>
  let message: ReturnType<ReturnType<typeof getCompiledTransactionMessageDecoder>['decode']>
  try {
    const decodedTx = getTransactionDecoder().decode(getBase64Encoder().encode(transaction))
    messageBytes = new Uint8Array(decodedTx.messageBytes)
    signatures = decodedTx.signatures as Readonly<Record<string, Uint8Array | null>>
    message = getCompiledTransactionMessageDecoder().decode(decodedTx.messageBytes)
  } catch {
    return { reason: 'invalid_exact_svm_payload_transaction_could_not_be_decoded' }
  }
  if ('addressTableLookups' in message && (message.addressTableLookups?.length ?? 0) > 0) return { reason: 'invalid_exact_svm_payload_transaction' }
  const accounts = message.staticAccounts.map(String)
  if (feePayer !== undefined && accounts[0] !== feePayer) return { reason: 'invalid_exact_svm_fee_payer_mismatch' }
  const instructions = message.instructions.map((ix) => ({ program: accounts[ix.programAddressIndex] ?? '', accounts: (ix.accountIndices ?? []).map((i) => accounts[i] ?? ''), data: ix.data ?? new Uint8Array() }))
  if (instructions.length < 3 || instructions.length > 7) return { reason: 'invalid_exact_svm_payload_transaction_instructions_length' }
  const [limit, price, transfer] = instructions as [(typeof instructions)[0], (typeof instructions)[0], (typeof instructions)[0]]
  if (limit.program !== COMPUTE_BUDGET_PROGRAM || limit.data[0] !== 2) return { reason: 'invalid_exact_svm_payload_transaction_instructions_compute_limit_instruction' }
  if (price.program !== COMPUTE_BUDGET_PROGRAM || price.data[0] !== 3 || price.data.length < 9) return { reason: 'invalid_exact_svm_payload_transaction_instructions_compute_price_instruction' }
  if (Buffer.from(price.data).readBigUInt64LE(1) > MAX_COMPUTE_UNIT_PRICE) return { reason: 'invalid_exact_svm_payload_transaction_instructions_compute_price_instruction_too_high' }
  // TransferChecked: tag 12, amount u64 LE, decimals u8; accounts source, mint, destination, authority.
  if ((transfer.program !== TOKEN_PROGRAM && transfer.program !== TOKEN_2022_PROGRAM) || transfer.data[0] !== 12 || transfer.data.length < 10 || transfer.accounts.length < 4) {
    return { reason: 'invalid_exact_svm_payload_no_transfer_instruction' }
  }
  const [source, mint, destination, authority] = transfer.accounts as [string, string, string, string]
  if (feePayer !== undefined && [source, authority].includes(feePayer)) return { reason: 'invalid_exact_svm_payload_transaction_fee_payer_transferring_funds' }
  if (transfer.data[9] !== USDC_DECIMALS) return { reason: 'invalid_exact_svm_payload_transaction' }
  let memo: string | undefined
  for (const extra of instructions.slice(3)) {
    if (extra.program === MEMO_PROGRAM) memo = Buffer.from(extra.data).toString('utf8')
    else if (extra.program !== LIGHTHOUSE_PROGRAM) return { reason: 'invalid_exact_svm_payload_unknown_optional_instruction' }
  }
  const signature = signatures[authority]
  if (!signature || signature.every((b) => b === 0)) return { reason: 'invalid_exact_svm_payload_signature_invalid' }
  return {
    authority,
    source,
    mint,
    destination,
    tokenProgram: transfer.program,
    amount: Buffer.from(transfer.data).readBigUInt64LE(1),
    blockhash: String(message.lifetimeToken),
    messageBytes,
    signature,
    payerSignature: base58Encode(signature),
    memo,
  }
}

function verifySignature(signer: string, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(base58Decode(signer)).toString('base64url') }, format: 'jwk' })
    return verify(null, message, key, signature)
  } catch {
    return false
  }
}

