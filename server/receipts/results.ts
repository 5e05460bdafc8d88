/**
 * Between results and the receipt index: the index line a stored result becomes, the result a
 * replayed receipt becomes again (for a retry with the same idempotency key), and the fingerprint
 * that tells whether a reused key names the same request.
 */
import { createHash } from 'node:crypto'
import { stat } from 'node:fs/promises'
import { ImagegenError } from '../errors.js'
import { formatUsd } from '../money.js'
import type { PaymentRecord } from '../payment/ledger.js'
import type { ImageResult } from '../service.js'
import type { ReceiptLine } from './receipt-index.js'
import { sha256Hex } from './receipt.js'

export type ReceiptLineParameters = {
  result: ImageResult
  route: string
  started: number
  prompt: string
  quality?: string | undefined
  inputs?: number | undefined
  mask?: boolean | undefined
  request: { max_price?: bigint | undefined; idempotency_key?: string | undefined }
}

export function receiptLine({ result, route, started, prompt, quality, inputs, mask, request }: ReceiptLineParameters): ReceiptLine {
  const cost = result.cost
  return {
    kind: 'receipt',
    v: 1,
    id: result.receiptId,
    started,
    t: Date.now(),
    route,
    prompt,
    promptSha256: sha256Hex(prompt),
    model: result.model,
    requestedModel: result.requestedModel,
    size: result.size,
    n: result.images.length,
    ...(quality ? { quality } : {}),
    ...(inputs !== undefined ? { inputs, mask: mask ?? false } : {}),
    ...(request.max_price !== undefined ? { maxPrice: request.max_price.toString() } : {}),
    ...(request.idempotency_key !== undefined ? { idempotencyKey: request.idempotency_key } : {}),
    notes: result.notes,
    ...(result.estimate !== undefined ? { estimate: result.estimate.toString() } : {}),
    ...(cost
      ? {
          payment: {
            id: cost.id,
            amount: cost.amount.toString(),
            network: cost.network,
            asset: cost.asset,
            payTo: cost.payTo,
            payer: cost.payer,
            ...(cost.transaction ? { transaction: cost.transaction } : {}),
            status: cost.status,
          },
        }
      : {}),
    outputs: result.images.map((image) => ({
      file: image.file,
      path: image.path,
      bytes: image.bytes,
      mimeType: image.mimeType,
      sha256: image.sha256,
      ...(image.revisedPrompt ? { revisedPrompt: image.revisedPrompt } : {}),
    })),
  }
}

/** An earlier result, handed back for a retry of its key: its files must still be there. */
export async function replayResult(line: ReceiptLine, ledger: readonly PaymentRecord[], urlFor: (file: string) => string): Promise<ImageResult> {
  const missing = []
  for (const output of line.outputs) if (!(await stat(output.path).catch(() => undefined))?.isFile()) missing.push(output.path)
  if (missing.length) {
    throw new ImagegenError({
      status: 410,
      type: 'invalid_request_error',
      code: 'result_deleted',
      message: `The result of the earlier request with this idempotency key (receipt ${line.id}) was paid for, but its file is gone (${missing.join(', ')}). Nothing was paid now; use a new key to make a new image.`,
    })
  }
  const paid = line.payment
  const record = paid ? ledger.find((r) => r.id === paid.id) : undefined
  const status = record?.status === 'settled' ? 'settled' : paid?.status === 'settled' ? 'settled' : 'unknown'
  return {
    requestId: line.id,
    receiptId: line.id,
    replayed: true,
    created: Math.floor(line.started / 1000),
    model: line.model,
    requestedModel: line.requestedModel,
    size: line.size,
    images: line.outputs.map((o) => ({ file: o.file, path: o.path, bytes: o.bytes, mimeType: o.mimeType as ImageResult['images'][number]['mimeType'], sha256: o.sha256, url: urlFor(o.file), revisedPrompt: o.revisedPrompt })),
    cost: paid
      ? {
          id: paid.id,
          amount: BigInt(paid.amount),
          usd: formatUsd(BigInt(paid.amount)),
          network: paid.network,
          asset: paid.asset,
          payTo: paid.payTo,
          payer: paid.payer,
          x402Version: 2,
          transaction: record?.transaction ?? paid.transaction,
          status,
        }
      : undefined,
    estimate: line.estimate === undefined ? undefined : BigInt(line.estimate),
    notes: [
      ...line.notes,
      `This is the result of an earlier identical request (receipt ${line.id}, made ${new Date(line.t).toISOString()}), handed back for the same idempotency key: nothing was paid now${paid ? `; it was paid ${formatUsd(BigInt(paid.amount))} then` : ''}.`,
    ],
  }
}

/**
 * What makes two requests the same for a key: the route and every field that changes the
 * picture, not the guards (`max_price`), the key itself, or how the answer is encoded.
 */
export function requestFingerprint(route: string, request: object): string {
  const { max_price: _price, idempotency_key: _key, response_format: _format, ...fields } = request as Record<string, unknown>
  const sorted = Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined).sort(([a], [b]) => (a < b ? -1 : 1)))
  return createHash('sha256').update(JSON.stringify([route, sorted])).digest('hex')
}
