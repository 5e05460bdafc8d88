/**
 * Shared expectations for edit tests: what the sandbox renders for an edit of given input bytes,
 * and the assertion that a refused request reached neither the upstream nor the payment rail.
 */
import { readFile } from 'node:fs/promises'
import { expect } from 'vitest'
import { editSeed, pixelDigest } from '../../server/sandbox/edit-inputs.js'
import { renderImage } from '../../server/sandbox/render.js'
import { untagged } from './images.js'

export { untagged } from './images.js'
import type { JsonResponse, Stack } from './stack.js'

/** gpt-image-1 at 1024x1024: its $0.02 list price with the gateway's 5% margin, plus the per-call fee, base units. */
export const EDIT_PRICE = 21_000n + 1000n

/** gpt-image-1 at `size`: $0.02 at 1024x1024, $0.04 at 1536x1024 and 1024x1536 (the gateway's size tiers), × 1.05, + the fee. */
export function editPriceAt(size = '1024x1024', n = 1): bigint {
  return (size === '1024x1024' ? 21_000n : 42_000n) * BigInt(n) + 1000n
}

/**
 * The PNG the sandbox returns for an edit: its render seed names the dimensions and a digest of
 * the decoded pixels of each image it received, so equal output proves those exact pixels arrived
 * (the proxy rebuilds the file around them, so the bytes themselves differ). Several inputs are
 * given as an array, in request order.
 */
export async function expectedEdit(prompt: string, input: Buffer | readonly Buffer[], masked: boolean, size = '1024x1024', index = 0): Promise<Buffer> {
  const inputs = Buffer.isBuffer(input) ? [input] : input
  const [width, height] = size.split('x').map(Number) as [number, number]
  const seed = editSeed(await Promise.all(inputs.map(pixelDigest)), masked)
  return renderImage({ prompt: `${prompt}${seed}`, width, height, index })
}

/** A 200 whose one stored image is the sandbox's edit of `input`, paid once at the edit price for its size. */
export async function expectEditResult(stack: Stack, response: JsonResponse, prompt: string, input: Buffer, options: { masked?: boolean; size?: string; transfersBefore: number }) {
  expect(response.status, JSON.stringify(response.body)).toBe(200)
  expect(response.body.model).toBe('openai/gpt-image-1')
  expect(response.body.data).toHaveLength(1)
  const stored = await readFile(response.body.data[0].path)
  expect(untagged(stored).equals(await expectedEdit(prompt, input, options.masked ?? false, options.size))).toBe(true)
  expect(stack.sandbox.usdc.transfers.length).toBe(options.transfersBefore + 1)
  expect(stack.sandbox.usdc.transfers.at(-1)!.amount).toBe(editPriceAt(options.size))
}

/** A 400 in OpenAI's error shape, naming `param`, with no upstream image request and no payment. */
export function expectRefusedBeforeUpstream(stack: Stack, response: JsonResponse, param: string, counts: { imageRequests: number; transfers: number }) {
  expect(response.status, JSON.stringify(response.body)).toBe(400)
  expect(response.body).toEqual({ error: { message: expect.any(String), type: 'invalid_request_error', param, code: expect.any(String) } })
  expect(stack.sandbox.counters.imageRequests).toBe(counts.imageRequests)
  expect(stack.sandbox.usdc.transfers.length).toBe(counts.transfers)
}

/** What a refusal must leave as it was: the ledger (nothing signed) and everything the sandbox saw. */
export type Untouched = { ledger: number; requests: number; authorizations: number; received: number; transfers: number }

export async function snapshot(stack: Stack): Promise<Untouched> {
  return {
    ledger: (await stack.proxy.service.ledger.payments()).length,
    requests: stack.sandbox.counters.imageRequests,
    authorizations: stack.sandbox.counters.authorizations,
    received: stack.sandbox.edits.received.length,
    transfers: stack.sandbox.usdc.transfers.length,
  }
}

/** A 400 naming `param` and `code`, with nothing signed, nothing sent upstream (paid or not), nothing settled. */
export async function expectRefusedUnsigned(stack: Stack, response: JsonResponse, before: Untouched, param: string, code: string): Promise<string> {
  expect(response.status, JSON.stringify(response.body)).toBe(400)
  expect(response.body.error).toMatchObject({ type: 'invalid_request_error', param, code })
  expect(await snapshot(stack)).toEqual(before)
  return response.body.error.message as string
}

/** The newest paid edit the sandbox received. */
export function lastPaidEdit(stack: Stack) {
  const paid = stack.sandbox.edits.received.filter((edit) => edit.paid)
  expect(paid.length, 'the sandbox received a paid edit').toBeGreaterThan(0)
  return paid.at(-1)!
}

