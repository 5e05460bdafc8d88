/**
 * The catalog through the real proxy against the sandbox gateway: the old skill's names, a model
 * only the live catalog lists, the bundled table when the live one cannot be read, the model list,
 * sizes, aspect ratios, quality, and estimates against what is paid.
 */
import { readFile } from 'node:fs/promises'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bundledCatalog } from '../server/catalog/index.js'
import { SANDBOX_MODELS } from '../server/sandbox/catalog.js'
import { makeImage } from './helpers/images.js'
import { stackThroughRelay, type RelayedStack } from './helpers/relay.js'
import { startSandbox } from '../server/sandbox/server.js'
import { startStack, type Stack } from './helpers/stack.js'

/** Every model name the old skill (seed-imagegen-skill.txt) taught, and the model that now runs. */
const SEED_NAMES: Array<[string, string, boolean]> = [
  ['nano-banana', 'google/nano-banana', false],
  ['google/nano-banana', 'google/nano-banana', false],
  ['banana-pro', 'google/nano-banana-pro', false],
  ['google/nano-banana-pro', 'google/nano-banana-pro', false],
  ['gpt-image', 'openai/gpt-image-1', false],
  ['openai/gpt-image-1', 'openai/gpt-image-1', false],
  ['dall-e-3', 'openai/gpt-image-2', true],
  ['openai/dall-e-3', 'openai/gpt-image-2', true],
  ['dall-e', 'openai/gpt-image-2', true],
  ['flux', 'xai/grok-imagine-image', true],
  ['black-forest/flux-1.1-pro', 'xai/grok-imagine-image', true],
]

describe('through the proxy, against the sandbox gateway', () => {
  let stack: Stack
  beforeAll(async () => {
    stack = await startStack()
  })
  afterAll(async () => stack.close())

  it('starting the proxy reads no catalog; the first request does, once', async () => {
    expect((await stack.get('/health')).status).toBe(200)
    expect(stack.sandbox.counters.catalogRequests).toBe(0)
    expect((await stack.post('/v1/images/generations', { prompt: 'first' })).status).toBe(200)
    expect((await stack.post('/v1/images/generations', { prompt: 'second' })).status).toBe(200)
    expect(stack.sandbox.counters.catalogRequests).toBe(1)
  })

  it.each(SEED_NAMES)('the old skill\'s "%s" makes an image on %s, and a substitution is stated', async (name, runs, substituted) => {
    const before = stack.sandbox.usdc.transfers.length
    const { status, body } = await stack.post('/v1/images/generations', { model: name, prompt: `a picture by ${name}` })
    expect(status, JSON.stringify(body)).toBe(200)
    expect(body.model).toBe(runs)
    expect(body.data).toHaveLength(1)
    expect(stack.sandbox.usdc.transfers.length).toBe(before + 1)
    expect(body.requested_model).toBe(name === runs ? undefined : name)
    if (substituted) {
      expect(body.notes).toHaveLength(1)
      expect(body.notes[0]).toMatch(new RegExp(`^"${name.replace(/[./]/g, '\\$&')}" ran on ${runs.replace('/', '\\/')}: the gateway (delisted dall-e-3 on 2026-05-25|has no flux model)`))
    } else expect(body.notes).toBeUndefined()
  })

  it('an old name with a size its old model took gets the successor\'s nearest size, and says so', async () => {
    const { status, body } = await stack.post('/v1/images/generations', { model: 'dall-e-3', prompt: 'wide', size: '1792x1024' })
    expect(status, JSON.stringify(body)).toBe(200)
    expect(body.size).toBe('1536x1024')
    expect(body.notes[1]).toBe('openai/gpt-image-2 does not make 1792x1024, a size openai/dall-e-3 took; it made 1536x1024, the nearest size it takes.')
    const meta = await sharp(await readFile(body.data[0].path)).metadata()
    expect(`${meta.width}x${meta.height}`).toBe('1536x1024')
  })

  it('a model only the live catalog lists works, and its sizes are checked before paying', async () => {
    const { status, body } = await stack.post('/v1/images/generations', { model: 'sandbox/live-only-image', prompt: 'only the gateway knows', size: '1536x1024' })
    expect(status, JSON.stringify(body)).toBe(200)
    expect(body.model).toBe('sandbox/live-only-image')
    expect(body.cost.amount).toBe('32500')
    const counts = { images: stack.sandbox.counters.imageRequests, transfers: stack.sandbox.usdc.transfers.length }
    const refused = await stack.post('/v1/images/generations', { model: 'sandbox/live-only-image', prompt: 'x', size: '1024x1536' })
    expect(refused.status).toBe(400)
    expect(refused.body.error).toMatchObject({ param: 'size', message: 'sandbox/live-only-image does not take size 1024x1536. Sizes it accepts: 1024x1024, 1536x1024.' })
    expect(stack.sandbox.counters.imageRequests).toBe(counts.images)
    expect(stack.sandbox.usdc.transfers.length).toBe(counts.transfers)
  })

  it('a size the model does not take is refused before paying, with the sizes it takes', async () => {
    const counts = { images: stack.sandbox.counters.imageRequests, transfers: stack.sandbox.usdc.transfers.length }
    for (const [model, size, accepted] of [
      ['nano-banana', '1024x1792', '1024x1024'],
      ['banana-pro', '1216x832', '1024x1024, 2048x2048, 4096x4096'],
      ['cogview', '2048x2048', '1024x1024, 512x512, 768x768, 768x1344, 1344x768, 1440x1440'],
    ]) {
      const { status, body } = await stack.post('/v1/images/generations', { model, prompt: 'x', size })
      expect(status).toBe(400)
      expect(body.error).toEqual({ type: 'invalid_request_error', param: 'size', code: 'invalid_size', message: expect.stringContaining(`does not take size ${size}. Sizes it accepts: ${accepted}.`) })
    }
    expect(stack.sandbox.counters.imageRequests).toBe(counts.images)
    expect(stack.sandbox.usdc.transfers.length).toBe(counts.transfers)
  })

  it.each([
    ['gpt-image', '16:9', '1536x1024', 'aspect_ratio 16:9 → 1536x1024 (3:2), the nearest shape openai/gpt-image-1 takes.'],
    ['gpt-image', 'portrait', '1024x1536', 'aspect_ratio portrait → 1024x1536 (2:3).'],
    ['cogview', '9:16', '768x1344', 'aspect_ratio 9:16 → 768x1344 (4:7), the nearest shape zai/cogview-4 takes.'],
    ['seedream', 'landscape', '2304x1728', 'aspect_ratio landscape → 2304x1728 (4:3).'],
    ['banana-pro', 'portrait', '1024x1024', 'aspect_ratio portrait → 1024x1024 (1:1): google/nano-banana-pro has no portrait size, so this is its nearest.'],
  ])('%s with aspect_ratio %s makes %s and says so', async (model, aspectRatio, size, note) => {
    const { status, body } = await stack.post('/v1/images/generations', { model, prompt: `shaped ${aspectRatio}`, aspect_ratio: aspectRatio })
    expect(status, JSON.stringify(body)).toBe(200)
    expect(body.size).toBe(size)
    expect(body.notes).toEqual([note])
    const meta = await sharp(await readFile(body.data[0].path)).metadata()
    expect(`${meta.width}x${meta.height}`).toBe(size)
  })

  it('/v1/models lists the image models only, says its source and when, and the old names', async () => {
    const list = await (await stack.get('/v1/models')).json()
    expect(list.source).toEqual({ kind: 'live', url: `${stack.sandbox.url}/v1/models?format=json`, fetched_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), stale: false })
    // Exactly the sandbox's image models: no chat, video or speech entry, no delisted dall-e-3.
    expect(list.data.map((m: { id: string }) => m.id).sort()).toEqual(SANDBOX_MODELS.map((m) => m.id).sort())
    const liveOnly = list.data.find((m: { id: string }) => m.id === 'sandbox/live-only-image')
    expect(liveOnly).toMatchObject({ source: 'live', sizes: ['1024x1024', '1536x1024'], edit: false, aliases: [], estimate_usd: '$0.0325' })
    expect(list.data.find((m: { id: string }) => m.id === 'openai/gpt-image-1')).toMatchObject({
      source: 'bundled+live',
      default_size: '1024x1024',
      price_usd: '$0.02',
      prices_usd: { '1024x1024': '$0.02', '1536x1024': '$0.04', '1024x1536': '$0.04' },
      estimate_usd: '$0.022',
      edit: true,
      mask: true,
      max_input_images: 4,
    })
    expect(list.substitutions['dall-e-3']).toEqual({ model: 'openai/gpt-image-2', reason: expect.stringContaining('delisted') })
    expect(list.substitutions.flux.model).toBe('xai/grok-imagine-image')
    expect(list.delisted).toEqual([])
  })

  it('an estimate equals what is then paid, for every model and size tier the sandbox has', async () => {
    for (const model of SANDBOX_MODELS) {
      const tiers = new Map<bigint, string>()
      for (const [size, price] of Object.entries(model.prices)) if (!tiers.has(price)) tiers.set(price, size)
      for (const size of tiers.values()) {
        const { status, body } = await stack.post('/v1/images/generations', { model: model.id, prompt: `priced ${model.id}`, size })
        expect(status, `${model.id} ${size} ${JSON.stringify(body)}`).toBe(200)
        expect(body.estimate.amount, `${model.id} ${size}`).toBe(body.cost.amount)
        expect(stack.sandbox.usdc.transfers.at(-1)!.amount).toBe(BigInt(body.cost.amount))
        expect(body.notes).toBeUndefined()
      }
    }
  })

  it('n that pushes the request past the per-request cap is refused unsigned, saying how many fit', async () => {
    const before = stack.sandbox.counters.authorizations
    const { status, body } = await stack.post('/v1/images/generations', { model: 'gpt-image-2', prompt: 'four big ones', size: '1536x1024', n: 4 })
    expect(status).toBe(402)
    expect(body.error.type).toBe('spend_limit_exceeded')
    expect(body.error.message).toContain('The upstream asks $0.505 for this request, over your per-request cap of $0.50.')
    expect(body.error.message).toContain('It is n = 4 that takes it over: one openai/gpt-image-2 image at 1536x1024 is about $0.127, so up to 3 fit under the cap in one request')
    expect(stack.sandbox.counters.authorizations).toBe(before)
    // One image of the dearest kind fits the default cap.
    expect((await stack.post('/v1/images/generations', { model: 'banana-pro', prompt: 'one big one', size: '4096x4096' })).status).toBe(200)
  })

  it('when the gateway asks another amount than the estimate, the answer shows both and what was paid', async () => {
    stack.sandbox.tuning.fee = 2000n
    try {
      const { status, body } = await stack.post('/v1/images/generations', { model: 'nano-banana', prompt: 'a new fee' })
      expect(status).toBe(200)
      expect(body.estimate).toEqual({ usd: '$0.0535', amount: '53500' })
      expect(body.cost.amount).toBe('54500')
      expect(body.notes).toEqual(['The catalog estimated $0.0535 ($0.0525 + $0.001 fee); the gateway asked $0.0545, and that is what was paid.'])
    } finally {
      stack.sandbox.tuning.fee = 1000n
    }
  })

  it('an OpenAI-style multipart edit with options the edit route does not take says they were not applied', async () => {
    const form = new FormData()
    form.append('image', new Blob([new Uint8Array(await makeImage(64, 64, 'png'))], { type: 'image/png' }), 'photo.png')
    form.append('prompt', 'make it winter')
    form.append('quality', 'high')
    form.append('background', 'transparent')
    const response = await fetch(`${stack.proxy.url}/v1/images/edits`, { method: 'POST', body: form })
    const body = await response.json()
    expect(response.status, JSON.stringify(body)).toBe(200)
    expect(body.model).toBe('openai/gpt-image-1')
    expect(body.notes).toEqual([
      "quality high was not applied: the gateway's edit route takes no quality setting.",
      'background was not applied: the gateway takes no background setting.',
    ])
  })

  it('settings a model cannot honour are answered as not applied, never dropped in silence', async () => {
    const { status, body } = await stack.post('/v1/images/generations', { model: 'nano-banana', prompt: 'styled', quality: 'hd', style: 'vivid', output_format: 'webp' })
    expect(status).toBe(200)
    expect(body.notes).toEqual([
      'quality hd was not applied: google/nano-banana takes no quality setting.',
      'style was not applied: the gateway takes no style setting.',
      'output_format was not applied: the gateway takes no output_format setting.',
    ])
  })
})

describe('quality reaches the gateway only for models that take it', () => {
  let relayed: RelayedStack
  const bodies: Array<Record<string, unknown>> = []
  beforeAll(async () => {
    relayed = await stackThroughRelay(() => ({
      observe: ({ method, path, body }) => {
        if (method === 'POST' && path === '/api/v1/images/generations') bodies.push(JSON.parse(body.toString('utf8')))
      },
    }))
  })
  afterAll(async () => relayed.close())

  it('cogview gets quality hd; nano-banana does not, and the answer says so', async () => {
    const cog = await relayed.generate({ model: 'cogview', prompt: 'crisp', quality: 'hd' })
    expect(cog.status).toBe(200)
    expect(cog.body.notes).toBeUndefined()
    const banana = await relayed.generate({ model: 'nano-banana', prompt: 'soft', quality: 'hd' })
    expect(banana.status).toBe(200)
    expect(banana.body.notes).toEqual(['quality hd was not applied: google/nano-banana takes no quality setting.'])
    const sent = (model: string) => bodies.filter((b) => b.model === model)
    expect(sent('zai/cogview-4').every((b) => b.quality === 'hd')).toBe(true)
    expect(sent('google/nano-banana').length).toBeGreaterThan(0)
    expect(sent('google/nano-banana').some((b) => 'quality' in b)).toBe(false)
  })
})

describe('when the live catalog cannot be read', () => {
  let relayed: RelayedStack
  beforeAll(async () => {
    relayed = await stackThroughRelay(() => ({
      answer: (relayed) => (relayed.path.startsWith('/api/v1/models') ? { ...relayed, status: 503, headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify({ error: 'Service temporarily unavailable' })) } : relayed),
    }))
  })
  afterAll(async () => relayed.close())

  it('the bundled table serves: images are made, and /v1/models says it is the bundled table and why', async () => {
    const made = await relayed.generate({ model: 'flux', prompt: 'offline catalog' })
    expect(made.status, JSON.stringify(made.body)).toBe(200)
    expect(made.body.model).toBe('xai/grok-imagine-image')
    expect(made.body.estimate.amount).toBe(made.body.cost.amount)
    const list = await relayed.get('/v1/models')
    expect(list.body.source).toEqual({ kind: 'bundled', as_of: '2026-08', reason: expect.stringMatching(/^the live catalog could not be read: .*answered HTTP 503/) })
    expect(list.body.data.map((m: { id: string }) => m.id)).toEqual(bundledCatalog().models.map((m) => m.id))
    // A model only the live catalog knows is unknown here, after one more bounded try.
    const unknown = await relayed.generate({ model: 'sandbox/live-only-image', prompt: 'x' })
    expect(unknown.status).toBe(400)
    expect(unknown.body.error).toMatchObject({ param: 'model', code: 'model_not_found', message: expect.stringMatching(/^Unknown model "sandbox\/live-only-image"\. Available models: google\/nano-banana \(nano-banana\), /) })
  })
})

describe('the sandbox gateway itself', () => {
  it('answers the delisted dall-e-3 and the never-listed flux with a 400, and lists every category in /v1/models', async () => {
    const sandbox = await startSandbox()
    try {
      const post = async (model: string) => {
        const response = await fetch(`${sandbox.url}/v1/images/generations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model, prompt: 'x' }) })
        return { status: response.status, body: await response.json() }
      }
      expect(await post('openai/dall-e-3')).toEqual({ status: 400, body: { error: 'Delisted 2026-05-25: OpenAI removed dall-e-3 from the API' } })
      expect(await post('black-forest/flux-1.1-pro')).toEqual({ status: 400, body: { error: 'Unknown model: black-forest/flux-1.1-pro' } })
      // Aliases are the clients' business: the gateway takes full ids.
      expect((await post('nano-banana')).status).toBe(400)
      for (const path of ['/v1/models', '/v1/models?format=json']) {
        const list = await (await fetch(`${sandbox.url}${path}`)).json()
        const categories = new Set(list.data.flatMap((m: { categories: string[] }) => m.categories))
        expect([...categories].sort()).toEqual(['chat', 'coding', 'image', 'reasoning', 'speech', 'tts', 'video', 'vision'])
        const banana = list.data.find((m: { id: string }) => m.id === 'google/nano-banana')
        expect(banana).toMatchObject({ categories: ['image'], billing_mode: 'per_image', pricing: { per_image: 0.0525, transaction_fee: 0.001 }, supported_sizes: ['1024x1024'], owned_by: 'google' })
        expect(list.data.some((m: { id: string }) => m.id === 'openai/dall-e-3')).toBe(false)
      }
      expect(sandbox.counters.imageRequests).toBe(3)
      expect(sandbox.usdc.transfers).toHaveLength(0)
    } finally {
      await sandbox.close()
    }
  })
})
