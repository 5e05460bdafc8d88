/**
 * The clients the bench compares, each making one image per call and throwing unless an image
 * really arrived:
 * - `proxy`: our proxy (`imagegen serve`), the way an OpenAI-style user calls it;
 * - `x402-fetch`: the reference client, `@x402/fetch` wrapFetchWithPayment over an `@x402/core`
 *   client with `@x402/evm`'s exact scheme and a viem account, calling the upstream directly;
 * - `blockrun-sdk`: BlockRun's own SDK, `@blockrun/llm` ImageClient with apiUrl at the upstream;
 * - `direct-presigned`: the least any client can do: the same x402 packages, requirements learned
 *   once, then one paid request per image. The proxy's own overhead is measured against it, and
 *   the same client sent through a bare pass-through proxy (`direct-via-pass-through`) gives the
 *   cost of one HTTP hop.
 * Direct clients decode the image into memory; the proxy also writes it to disk and the ledger.
 */
import { stat } from 'node:fs/promises'
import { ImageClient } from '@blockrun/llm'
import { x402Client, x402HTTPClient } from '@x402/core/client'
import type { PaymentRequired } from '@x402/core/types'
import { registerExactEvmScheme } from '@x402/evm/exact/client'
import { decodePaymentResponseHeader, wrapFetchWithPayment } from '@x402/fetch'
import { privateKeyToAccount } from 'viem/accounts'

export type ImageRequest = { model: string; size: string; prompt: string }
export type Client = {
  name: string
  generate(request: ImageRequest): Promise<void>
  /** Checks what could not be checked inside the timed call (the proxy's files); throws on a miss. */
  verify?(): Promise<void>
}

export function proxyClient(url: string): Client {
  // Files are checked after the timed calls, so a stat in the bench is not counted as proxy time.
  let paths: string[] = []
  return {
    name: 'proxy',
    async generate({ model, size, prompt }) {
      const response = await fetch(`${url}/v1/images/generations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model, size, prompt }) })
      const body = (await response.json()) as { data?: Array<{ path?: string }>; cost?: { status?: string }; error?: { message?: string } }
      if (response.status !== 200) throw new Error(`proxy answered ${response.status}: ${body.error?.message ?? ''}`)
      const path = body.data?.[0]?.path
      if (!path) throw new Error('proxy result names no image file')
      if (body.cost?.status !== 'settled') throw new Error(`proxy payment not settled: ${JSON.stringify(body.cost)}`)
      paths.push(path)
    },
    async verify() {
      const pending = paths
      paths = []
      for (const path of pending) if (!((await stat(path).catch(() => undefined))?.size ?? 0)) throw new Error(`proxy result has no image file at ${path}`)
    },
  }
}

function paymentClient(key: `0x${string}`): x402Client {
  const client = new x402Client()
  registerExactEvmScheme(client, { signer: privateKeyToAccount(key) })
  return client
}

export function x402FetchClient(upstream: string, key: `0x${string}`): Client {
  const pay = wrapFetchWithPayment(fetch, paymentClient(key))
  return {
    name: 'x402-fetch',
    async generate({ model, size, prompt }) {
      const response = await pay(`${upstream}/v1/images/generations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model, size, prompt, n: 1 }) })
      await checkDirect(response, 'x402-fetch')
    },
  }
}

export function sdkClient(upstream: string, key: `0x${string}`): Client {
  const client = new ImageClient({ privateKey: key, apiUrl: upstream })
  return {
    name: 'blockrun-sdk',
    async generate({ model, size, prompt }) {
      const result = await client.generate(prompt, { model: model as never, size: size as never, n: 1 })
      imageBytes(result, 'blockrun-sdk')
    },
  }
}

export function presignedClient(upstream: string, key: `0x${string}`, name = 'direct-presigned'): Client {
  const http = new x402HTTPClient(paymentClient(key))
  const known = new Map<string, PaymentRequired>()
  const send = (url: string, body: string, headers: Record<string, string> = {}) =>
    fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body })
  return {
    name,
    async generate({ model, size, prompt }) {
      const url = `${upstream}/v1/images/generations`
      const body = JSON.stringify({ model, size, prompt, n: 1 })
      const key = `${model} ${size}`
      let required = known.get(key)
      if (!required) {
        const first = await send(url, body)
        if (first.status !== 402) throw new Error(`${name}: expected 402, got ${first.status}`)
        required = http.getPaymentRequiredResponse((header) => first.headers.get(header), await first.json().catch(() => undefined))
        known.set(key, required)
      }
      const headers = http.encodePaymentSignatureHeader(await http.createPaymentPayload(required))
      await checkDirect(await send(url, body, headers), name)
    },
  }
}

async function checkDirect(response: Response, name: string): Promise<void> {
  const body = await response.json().catch(() => undefined)
  if (response.status !== 200) throw new Error(`${name}: upstream answered ${response.status}: ${JSON.stringify(body).slice(0, 300)}`)
  const header = response.headers.get('payment-response')
  if (!header || !decodePaymentResponseHeader(header).success) throw new Error(`${name}: no successful settlement header`)
  imageBytes(body, name)
}

/** The first image of an upstream result, decoded; throws when there is none. */
function imageBytes(body: unknown, name: string): Buffer {
  const item = (body as { data?: Array<{ b64_json?: string; url?: string }> } | undefined)?.data?.[0]
  const text = item?.b64_json ?? (item?.url?.startsWith('data:') ? item.url.slice(item.url.indexOf(',') + 1) : undefined)
  const bytes = text ? Buffer.from(text, 'base64') : Buffer.alloc(0)
  if (bytes.length < 8 || bytes[0] !== 0x89) throw new Error(`${name}: the result holds no PNG`)
  return bytes
}
