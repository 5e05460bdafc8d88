/**
 * Receipts: a result's index line (receipt-index.ts) as written when it is stored, and as read
 * back joined with the ledger, whose payment records carry the same request id. A receipt ties
 * the payment (amount, chain, payee, transaction, its status now) to the request (the prompt's
 * hash, model, settings applied) and to the files made (name, SHA-256, size).
 */
import { createHash } from 'node:crypto'
import { formatUsd } from '../money.js'
import type { PaymentRecord } from '../payment/ledger.js'
import { findNetwork } from '../payment/networks.js'
import type { ReceiptLine } from './receipt-index.js'

/** A receipt as the API answers it (`GET /v1/receipts/{id}`); amounts in base units and dollars. */
export type ReceiptView = {
  id: string
  created: string
  finished: string
  request: {
    route: string
    prompt_sha256: string
    model: string
    requested_model: string
    size: string
    n: number
    quality: string | null
    inputs: number | null
    mask: boolean | null
    max_price: string | null
    idempotency_key: string | null
    notes: string[]
  }
  payment: null | {
    amount: string
    usd: string
    chain: string | null
    network: string
    asset: string
    pay_to: string
    payer: string
    transaction: string | null
    /** The ledger's status now (settled, unknown...), which may have moved since the result. */
    status: string
    /** Every authorization this request signed, from the ledger (a refused pre-paid one, a job's renewal). */
    authorizations: Array<{ id: string; amount: string; usd: string; status: string; transaction: string | null; reason: string | null }>
  }
  outputs: Array<{ file: string; path: string; url: string; sha256: string; bytes: number; mime_type: string }>
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex')
}

/** The receipt joined with the ledger's records of its request; `urlFor` gives each file's URL. */
export function receiptView(line: ReceiptLine, ledger: readonly PaymentRecord[], urlFor: (file: string) => string): ReceiptView {
  const records = ledger.filter((record) => record.requestId === line.id && record.status !== 'declined')
  const paid = line.payment
  const record = paid ? records.find((r) => r.id === paid.id) : undefined
  return {
    id: line.id,
    created: new Date(line.started).toISOString(),
    finished: new Date(line.t).toISOString(),
    request: {
      route: line.route,
      prompt_sha256: line.promptSha256,
      model: line.model,
      requested_model: line.requestedModel,
      size: line.size,
      n: line.n,
      quality: line.quality ?? null,
      inputs: line.inputs ?? null,
      mask: line.mask ?? null,
      max_price: line.maxPrice ?? null,
      idempotency_key: line.idempotencyKey ?? null,
      notes: line.notes,
    },
    payment: paid
      ? {
          amount: paid.amount,
          usd: formatUsd(BigInt(paid.amount)),
          chain: findNetwork(paid.network)?.chain ?? null,
          network: paid.network,
          asset: paid.asset,
          pay_to: paid.payTo,
          payer: paid.payer,
          transaction: record?.transaction ?? paid.transaction ?? null,
          status: record?.status ?? paid.status,
          authorizations: records.map((r) => ({ id: r.id, amount: r.amount.toString(), usd: formatUsd(r.amount), status: r.status, transaction: r.transaction ?? null, reason: r.reason ?? null })),
        }
      : null,
    outputs: line.outputs.map((output) => ({ file: output.file, path: output.path, url: urlFor(output.file), sha256: output.sha256, bytes: output.bytes, mime_type: output.mimeType })),
  }
}

/** CSV columns of `imagegen receipts --csv`: one row per receipt; the prompt itself is left out (its hash is in). */
export const CSV_COLUMNS = ['created', 'id', 'model', 'size', 'n', 'usd', 'amount', 'network', 'pay_to', 'transaction', 'status', 'files', 'sha256', 'prompt_sha256'] as const

export function csvRow(view: ReceiptView): string {
  const cells: Record<(typeof CSV_COLUMNS)[number], string> = {
    created: view.created,
    id: view.id,
    model: view.request.model,
    size: view.request.size,
    n: String(view.request.n),
    usd: view.payment?.usd ?? '',
    amount: view.payment?.amount ?? '',
    network: view.payment?.network ?? '',
    pay_to: view.payment?.pay_to ?? '',
    transaction: view.payment?.transaction ?? '',
    status: view.payment?.status ?? 'unpaid',
    files: view.outputs.map((o) => o.path).join(' '),
    sha256: view.outputs.map((o) => o.sha256).join(' '),
    prompt_sha256: view.request.prompt_sha256,
  }
  return CSV_COLUMNS.map((column) => csvCell(cells[column])).join(',')
}

function csvCell(text: string): string {
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text
}
