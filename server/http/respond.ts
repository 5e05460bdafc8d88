/**
 * The OpenAI-shaped bodies the proxy answers with.
 */
import { readFile } from 'node:fs/promises'
import type { ImageResult } from '../service.js'

export type ImagesResponseBody = {
  created: number
  data: Array<{ url: string; b64_json?: string; revised_prompt?: string; path: string; file: string }>
  model: string
  size: string
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
  /** What ran differently from what was asked; present only when there is something to say. */
  notes?: string[]
}

export async function imagesResponse(result: ImageResult, format: 'url' | 'b64_json' = 'url'): Promise<ImagesResponseBody> {
  const data = await Promise.all(
    result.images.map(async (image) => ({
      url: image.url,
      path: image.path,
      file: image.file,
      ...(format === 'b64_json' ? { b64_json: (await readFile(image.path)).toString('base64') } : {}),
      ...(image.revisedPrompt ? { revised_prompt: image.revisedPrompt } : {}),
    })),
  )
  const cost = result.cost
  return {
    created: result.created,
    data,
    model: result.model,
    size: result.size,
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
