/**
 * What the service keeps of its results, beside the ledger: the receipt index (receipt-index.ts)
 * and the idempotency keys (idempotency.ts), and how a keyed call goes through them. The service
 * runs the pipeline; this decides whether a call runs at all, and what it leaves behind.
 */
import { ImagegenError, invalidRequest, toImagegenError } from '../errors.js'
import type { Ledger } from '../payment/ledger.js'
import type { ImageResult } from '../service.js'
import { IdempotencyStore, type IdempotencyKey } from './idempotency.js'
import { receiptView, type ReceiptView } from './receipt.js'
import { ReceiptIndex, type ReceiptLine } from './receipt-index.js'
import { replayResult, requestFingerprint } from './results.js'

/** Ledger statuses of a payment that may have moved money. */
const MONEY_MAY_HAVE_MOVED = new Set(['signed', 'settled', 'unknown'])

export type KeyedCall = {
  key: IdempotencyKey
  route: string
  request: object
  /** A fresh request id, the receipt's if the call runs. */
  id: string
  /** The caller's signal: a result is delivered only if the caller is still there for it. */
  caller: AbortSignal | undefined
  /** Runs the pipeline, detached from the caller, under request id `id`. */
  run: (id: string) => Promise<ImageResult>
}

export class ResultRecords {
  readonly index: ReceiptIndex
  private readonly keys: IdempotencyStore

  constructor(
    home: string,
    private readonly ledger: Ledger,
    private readonly urlFor: (file: string) => string,
    runningLimitMs: number,
  ) {
    this.index = new ReceiptIndex(home)
    this.keys = new IdempotencyStore({ home, moneyMoved: (id) => this.moneyMoved(id), stored: (id) => this.index.find(id) !== undefined, runningLimitMs })
  }

  /** Adds a stored result to the index (on disk before the answer leaves). */
  record(line: ReceiptLine): Promise<void> {
    return this.index.append(line)
  }

  /**
   * A call with a key: an earlier result handed back, a refusal, or the call run and its outcome
   * stored under the key (idempotency.ts has the rules).
   */
  async keyed({ key, route, request, id, caller, run }: KeyedCall): Promise<ImageResult> {
    const claim = await this.keys.claim(key, requestFingerprint(route, request), id)
    if (claim.kind === 'refused') throw claim.error
    if (claim.kind === 'replay') {
      const line = this.index.find(claim.id)
      if (!line) throw new ImagegenError({ status: 409, type: 'invalid_request_error', code: 'idempotency_key_in_use', message: `The result of the earlier request with this idempotency key (receipt ${claim.id}) is not in this home's index.` })
      const result = await replayResult(line, await this.ledger.payments(), this.urlFor)
      if (!caller?.aborted) await this.keys.delivered(key.key, claim.id)
      return result
    }
    try {
      const result = await run(claim.id)
      await this.keys.done(key.key, claim.id, !caller?.aborted)
      return result
    } catch (error) {
      await this.keys.failed(key.key, claim.id, toImagegenError(error), await this.moneyMoved(claim.id)).catch(() => {})
      throw error
    } finally {
      this.keys.release(key.key)
    }
  }

  /** One receipt, joined with the ledger. */
  async receipt(id: string): Promise<ReceiptView | undefined> {
    const line = this.index.find(id)
    return line && receiptView(line, await this.ledger.payments(), this.urlFor)
  }

  /** Receipts newest first, `limit` at a time after the receipt `before`. */
  async page({ before, limit = 50 }: { before?: string | undefined; limit?: number } = {}): Promise<{ data: ReceiptView[]; has_more: boolean }> {
    const page = this.index.page({ before, limit })
    const ledger = await this.ledger.payments()
    return { data: page.items.map((line) => receiptView(line, ledger, this.urlFor)), has_more: page.more }
  }

  async close(): Promise<void> {
    await Promise.all([this.index.close(), this.keys.close()])
  }

  private async moneyMoved(requestId: string): Promise<boolean> {
    return (await this.ledger.payments()).some((p) => p.requestId === requestId && MONEY_MAY_HAVE_MOVED.has(p.status))
  }
}

/**
 * The call's idempotency key: the header's (or a key our tools derived), else the body's
 * `idempotency_key`; both, different, is a 400.
 */
export function callKey(request: { idempotency_key?: string | undefined }, options: { idempotency?: IdempotencyKey | undefined }): IdempotencyKey | undefined {
  const body = request.idempotency_key
  if (options.idempotency && body !== undefined && body !== options.idempotency.key)
    throw invalidRequest('The Idempotency-Key header and the body\'s idempotency_key differ; send one of them.', 'idempotency_key', 'idempotency_key_conflict')
  return options.idempotency ?? (body === undefined ? undefined : { key: body, reuse: 'always' })
}
