/**
 * The ledger's file format: one JSON line per event of a payment (reserve, signed, settled, an
 * outcome, the chain's verdict), and how the lines fold into one record per payment. Shared by the
 * ledger that writes the file and every reader of it (ledger.ts).
 */
import type { BudgetWindow } from './budget-window.js'

export type PaymentStatus = 'reserved' | 'signed' | 'settled' | 'refused' | 'failed' | 'abandoned' | 'unknown' | 'released' | 'declined'

export type ReserveEntry = {
  id: string
  requestId: string
  endpoint: string
  model: string
  size: string
  n: number
  amount: bigint
  network: string
  asset: string
  payTo: string
  /** The payment this one renews: an authorization the upstream refused on a job's poll (it expired first). */
  replaces?: string
}

/**
 * What identifies a signed authorization and when it can no longer be used. EVM (EIP-3009): the
 * nonce and `validBefore`. Solana: `nonce` is the payer's signature of the transfer (base58), and
 * `blockhash` + `lastValidBlockHeight` bound its life; `validBefore` is then the time the
 * requirement's lifetime ends, conservatively later than the blockhash's expiry in practice (the
 * chain is asked before anything stops counting, chain-state.ts).
 */
export type SignedDetails = { nonce: string; validBefore: string; x402Version: number; payer: string; blockhash?: string; lastValidBlockHeight?: string }

/** One line of the file. Amounts are decimal strings of base units; `t` is epoch ms. */
export type LedgerLine =
  | ({ kind: 'reserve'; t: number } & Omit<ReserveEntry, 'amount'> & { amount: string })
  | ({ kind: 'signed'; t: number; id: string } & SignedDetails)
  | { kind: 'settled'; t: number; id: string; transaction: string }
  | { kind: ClosedKind; t: number; id: string; reason: string }
  /** What the chain says of an expired authorization that did not settle as far as we knew (chain-state.ts). */
  | { kind: 'chain'; t: number; id: string; used: boolean; reason: string }

/**
 * Outcomes other than settlement; `declined` is the budget's own refusal (nothing was signed).
 * `failed`: the upstream said the work failed and showed no settlement; `abandoned`: we stopped
 * polling a job before it completed (the gateway settles a job on its first completed poll).
 */
export type ClosedKind = 'refused' | 'failed' | 'abandoned' | 'unknown' | 'released' | 'declined'

export type PaymentRecord = Omit<ReserveEntry, 'amount'> & {
  amount: bigint
  /** When the payment was reserved, epoch ms. */
  time: number
  status: PaymentStatus
  nonce?: string
  /** End of the authorization's validity, epoch seconds (from the signed line). */
  validBefore?: number
  /** The wallet that signed it (from the signed line). */
  payer?: string
  /** Solana: the blockhash the transfer was built on (from the signed line). */
  blockhash?: string
  /**
   * The chain's verdict on an authorization that expired without a known settlement: `unused`
   * (EIP-3009 authorizationState false: it can never settle, so it stops counting against the
   * budget) or `used` (it settled after all).
   */
  chain?: 'used' | 'unused'
  transaction?: string
  reason?: string
}

const CLOSED_KINDS: ReadonlySet<string> = new Set<ClosedKind>(['refused', 'failed', 'abandoned', 'unknown', 'released', 'declined'])

/**
 * Parses one line. A line torn by a crash has no newline, so the next process's line is glued to
 * it; the last `{"kind":` in such a line starts the intact part, which is kept.
 */
function parseLine(raw: string): LedgerLine | undefined {
  try {
    return JSON.parse(raw) as LedgerLine
  } catch {
    const start = raw.lastIndexOf('{"kind":')
    if (start <= 0) return undefined
    try {
      return JSON.parse(raw.slice(start)) as LedgerLine
    } catch {
      return undefined
    }
  }
}

/** Folds one ledger line into the per-payment state (and the budget window, when there is one). */
export function applyLine(records: Map<string, PaymentRecord>, raw: string, window?: BudgetWindow): void {
  if (!raw.trim()) return
  const line = parseLine(raw)
  if (!line || typeof line !== 'object' || typeof line.id !== 'string') return
  if (line.kind === 'reserve') {
    if (records.has(line.id)) return
    const { kind: _kind, t, amount, ...rest } = line
    if (!/^\d+$/.test(amount)) return
    const record: PaymentRecord = { ...rest, amount: BigInt(amount), time: t, status: 'reserved' }
    records.set(line.id, record)
    window?.add(record)
    return
  }
  const record = records.get(line.id)
  if (!record) return
  if (window) window.update(record, () => foldOutcome(record, line))
  else foldOutcome(record, line)
}

/** A line after the reservation: signing, settlement or another outcome. */
function foldOutcome(record: PaymentRecord, line: Exclude<LedgerLine, { kind: 'reserve' }>): void {
  if (line.kind === 'signed') {
    // An outcome may already be folded in; signing never moves a payment backwards.
    if (record.status === 'reserved') record.status = 'signed'
    record.nonce = line.nonce
    if (typeof line.payer === 'string') record.payer = line.payer
    if (typeof line.blockhash === 'string') record.blockhash = line.blockhash
    const validBefore = Number(line.validBefore)
    if (Number.isFinite(validBefore) && validBefore > 0) record.validBefore = validBefore
  } else if (line.kind === 'settled') {
    record.status = 'settled'
    record.transaction = line.transaction
  } else if (line.kind === 'chain') {
    record.chain = line.used ? 'used' : 'unused'
    // Settled on-chain whatever the upstream told us: money spent.
    if (line.used && record.status !== 'settled') {
      record.status = 'settled'
      record.reason = line.reason
    }
  } else if (CLOSED_KINDS.has(line.kind)) {
    // A settlement seen once is final: a later "unknown" from a lost poll cannot undo it.
    if (record.status === 'settled') return
    record.status = line.kind
    record.reason = line.reason
  }
}
