import { readFile } from 'node:fs/promises'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bundledCatalog, type ModelEntry } from '../server/catalog/index.js'
import { startStack, type Stack } from './helpers/stack.js'

const MODELS = bundledCatalog().models

/** One size per price tier of a model, the default size first. */
function tierSizes(model: ModelEntry): string[] {
  const seen = new Set<bigint>()
  return model.sizes.filter((size) => !seen.has(model.prices[size]!) && seen.add(model.prices[size]!))
}

describe('generation end to end through the sandbox (x402 v2)', () => {
  let stack: Stack
  beforeAll(async () => {
    stack = await startStack()
  })
  afterAll(async () => stack.close())

  for (const model of MODELS) for (const size of tierSizes(model)) {
    it(`${model.id} at ${size}: pays its tier, stores and serves a real PNG of that size`, async () => {
      const before = stack.sandbox.usdc.transfers.length
      const { status, body } = await stack.post('/v1/images/generations', { model: model.aliases[0], prompt: `a test of ${model.id}`, size })
      expect(status, JSON.stringify(body)).toBe(200)
      expect(body.model).toBe(model.id)
      expect(body.data).toHaveLength(1)
      const [image] = body.data
      expect(image.url).toMatch(new RegExp(`^${stack.proxy.url}/images/[0-9]{13}-[0-9a-f]{16}\\.png$`))
      const onDisk = await readFile(image.path)
      const meta = await sharp(onDisk).metadata()
      expect(`${meta.width}x${meta.height}`).toBe(size)
      const served = await stack.get(new URL(image.url).pathname)
      expect(served.status).toBe(200)
      expect(served.headers.get('content-type')).toBe('image/png')
      expect(Buffer.from(await served.arrayBuffer()).equals(onDisk)).toBe(true)
      // Exactly one settlement, for what the gateway asks: the size tier's list price × 1.05 + the $0.001 fee.
      const price = (model.prices[size]! * 105n) / 100n + 1000n
      expect(stack.sandbox.usdc.transfers.length).toBe(before + 1)
      const transfer = stack.sandbox.usdc.transfers.at(-1)!
      expect(transfer.amount).toBe(price)
      expect(body.cost.amount).toBe(String(price))
      expect(body.estimate.amount).toBe(String(price))
      expect(body.notes).toBeUndefined()
      expect(body.cost.transaction).toBe(transfer.transaction)
      expect(body.cost.status).toBe('settled')
    })
  }

  it('returns b64_json when asked, equal to the stored file', async () => {
    const { status, body } = await stack.post('/v1/images/generations', { prompt: 'b64 please', response_format: 'b64_json' })
    expect(status).toBe(200)
    const file = await readFile(body.data[0].path)
    expect(Buffer.from(body.data[0].b64_json, 'base64').equals(file)).toBe(true)
  })

  it('makes n images in one paid request', async () => {
    const before = stack.sandbox.usdc.transfers.length
    const { status, body } = await stack.post('/v1/images/generations', { model: 'cogview', prompt: 'three', n: 3 })
    expect(status).toBe(200)
    expect(body.data).toHaveLength(3)
    expect(new Set(body.data.map((d: { path: string }) => d.path)).size).toBe(3)
    expect(stack.sandbox.usdc.transfers.length).toBe(before + 1)
    expect(stack.sandbox.usdc.transfers.at(-1)!.amount).toBe((3n * 15_000n * 105n) / 100n + 1000n)
  })

  it('lists the catalog and answers /health with the wallet', async () => {
    const models = await (await stack.get('/v1/models')).json()
    // The sandbox's live catalog: every bundled model, and its one sandbox-only model.
    expect(models.source.kind).toBe('live')
    expect(models.data.map((m: { id: string }) => m.id)).toEqual([...MODELS.map((m) => m.id), 'sandbox/live-only-image'])
    const health = await (await stack.get('/health')).json()
    expect(health).toMatchObject({ status: 'ok', service: 'blockrun-imagegen', wallet: stack.wallet.address })
  })
})

describe('every result form', () => {
  for (const form of ['url', 'data_uri', 'b64_json', 'job'] as const) {
    it(`${form}`, async () => {
      const stack = await startStack({ sandbox: { forms: form } })
      try {
        const { status, body } = await stack.post('/v1/images/generations', { prompt: `form ${form}` })
        expect(status, JSON.stringify(body)).toBe(200)
        const meta = await sharp(await readFile(body.data[0].path)).metadata()
        expect(meta.format).toBe('png')
        expect(stack.sandbox.usdc.transfers).toHaveLength(1)
        if (form === 'job') expect(stack.sandbox.counters.polls).toBeGreaterThan(0)
      } finally {
        await stack.close()
      }
    })
  }
})

describe('x402 v1', () => {
  it('pays with X-PAYMENT against body requirements and reads X-PAYMENT-RESPONSE', async () => {
    const stack = await startStack({ sandbox: { version: 1 } })
    try {
      const { status, body } = await stack.post('/v1/images/generations', { model: 'dall-e-3', prompt: 'v1 payment' })
      expect(status, JSON.stringify(body)).toBe(200)
      expect(stack.sandbox.usdc.transfers).toHaveLength(1)
      expect(body.cost.transaction).toBe(stack.sandbox.usdc.transfers[0]!.transaction)
      expect(body.cost.network).toBe('eip155:84532')
    } finally {
      await stack.close()
    }
  })
})
