/**
 * The OpenAI-shaped bodies the proxy answers with.
 */
import { readFile } from 'node:fs/promises'
import { formatUsd } from '../money.js'
import type { ImageResult } from '../service.js'

export type ImagesResponseBody = {
  created: number
  data: Array<{ url: string; b64_json?: string; revised_prompt?: string; path: string; file: string; sha256: string }>
  /** The receipt of this result: `GET /v1/receipts/{receipt}`; the files carry it in their metadata. */
  receipt: string
  /** Present (true) when this is an earlier request's result handed back for the same idempotency key: nothing was paid now. */
  replayed?: true
  /** The model that ran. */
  model: string
  /** The model as the request named it, when that differs from `model` (an alias, or an old name now run by another model). */
  requested_model?: string
  size: string
  /** What the catalog expected the gateway to ask, when it prices the model; `cost` is what was paid. */
  estimate: null | { usd: string; amount: string }
  cost: null | {
    usd: string
    amount: string
    asset: string
    network: string
    pay_to: string
    payer: string
    transaction: string | null
    status: string
  }
  /**
   * What ran differently from what was asked (an old model name run on its successor, the size an
   * aspect ratio became, a setting the model ignores, an input downscaled, estimate vs paid);
   * present only when there is something to say.
   */
  notes?: string[]
}

export async function imagesResponse(result: ImageResult, format: 'url' | 'b64_json' = 'url'): Promise<ImagesResponseBody> {
  const data = await Promise.all(
    result.images.map(async (image) => ({
      url: image.url,
      path: image.path,
      file: image.file,
      sha256: image.sha256,
      ...(format === 'b64_json' ? { b64_json: (await readFile(image.path)).toString('base64') } : {}),
      ...(image.revisedPrompt ? { revised_prompt: image.revisedPrompt } : {}),
    })),
  )
  const cost = result.cost
  return {
    created: result.created,
    data,
    receipt: result.receiptId,
    ...(result.replayed ? { replayed: true as const } : {}),
    model: result.model,
    ...(result.requestedModel !== result.model ? { requested_model: result.requestedModel } : {}),
    size: result.size,
    estimate: result.estimate === undefined ? null : { usd: formatUsd(result.estimate), amount: result.estimate.toString() },
    cost: cost
      ? {
          usd: cost.usd,
          amount: cost.amount.toString(),
          asset: cost.asset,
          network: cost.network,
          pay_to: cost.payTo,
          payer: cost.payer,
          transaction: cost.transaction ?? null,
          status: cost.status,
        }
      : null,
    ...(result.notes.length ? { notes: result.notes } : {}),
  }
}

/** `Idempotent-Replayed: true` on an answer handed back for a repeated idempotency key (as Stripe names it). */
export function replayHeaders(result: ImageResult): Record<string, string> {
  return result.replayed ? { 'idempotent-replayed': 'true' } : {}
}
