/**
 * The catalog on its own: the bundled table's facts, the estimate arithmetic, the live
 * `/v1/models` reader against gateways on real sockets (field-name variants, the `?format=json`
 * quirk, failures), and the loader's lazy, cached, bounded reads with their disk copy.
 */
import { readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { bundledCatalog, Catalog, DEFAULT_EDIT_MODEL, DEFAULT_MODEL, estimate, GATEWAY_FEE, type ModelEntry } from '../server/catalog/index.js'
import { fetchLiveModels, parseModelList, usdToBaseUnits } from '../server/catalog/live.js'
import { resolveSettings } from '../server/config.js'
import { resolveJob } from '../server/resolve.js'
import { startFileServer, type FileServer, type Handler } from './helpers/file-server.js'
import { tempHome } from './helpers/stack.js'

const MODELS = bundledCatalog().models
const byId = (id: string) => MODELS.find((m) => m.id === id)!

describe('the bundled table', () => {
  it('holds today\'s gateway models, the default size first and a price for every size', () => {
    expect(MODELS.map((m) => m.id)).toEqual([
      'google/nano-banana',
      'google/nano-banana-2',
      'google/nano-banana-pro',
      'openai/gpt-image-1',
      'openai/gpt-image-2',
      'bytedance/seedream-5-pro',
      'xai/grok-imagine-image',
      'xai/grok-imagine-image-pro',
      'zai/cogview-4',
    ])
    for (const model of MODELS) {
      expect(model.sizes[0], model.id).toBe('1024x1024')
      expect(Object.keys(model.prices).sort(), model.id).toEqual([...model.sizes].sort())
      expect(model.maxN, model.id).toBe(4)
    }
    const names = MODELS.flatMap((m) => [m.id, ...m.aliases])
    expect(new Set(names).size).toBe(names.length)
  })

  it('edit, mask and reference-image rules as the gateway has them', () => {
    expect(MODELS.filter((m) => m.edit).map((m) => m.id)).toEqual(['google/nano-banana', 'google/nano-banana-pro', 'openai/gpt-image-1', 'openai/gpt-image-2'])
    expect(MODELS.filter((m) => m.mask).map((m) => m.id)).toEqual(['openai/gpt-image-1', 'openai/gpt-image-2'])
    for (const model of MODELS) expect(model.maxInputImages, model.id).toBe(!model.edit ? 0 : model.provider === 'openai' ? 4 : 3)
  })

  it('the edit default is the cheapest model that edits, the generation default is nano-banana', () => {
    const editors = MODELS.filter((m) => m.edit).sort((a, b) => Number(a.prices['1024x1024']! - b.prices['1024x1024']!))
    expect(DEFAULT_EDIT_MODEL).toBe(editors[0]!.id)
    expect(DEFAULT_MODEL).toBe('google/nano-banana')
  })

  it('the default per-request cap allows every single image in the catalog, at every size; n can push past it', () => {
    const cap = resolveSettings({ home: '/tmp/unused' }).policy.maxPerRequest
    for (const model of MODELS) for (const size of model.sizes) expect(estimate(model, size, 1)!.amount, `${model.id} ${size}`).toBeLessThanOrEqual(cap)
    expect(estimate(byId('openai/gpt-image-2'), '1536x1024', 4)!.amount).toBeGreaterThan(cap)
  })

  it('the old skill\'s names resolve to their successors, as substitutions', () => {
    for (const [name, successor] of [
      ['dall-e-3', 'openai/gpt-image-2'],
      ['DALL-E', 'openai/gpt-image-2'],
      ['dalle', 'openai/gpt-image-2'],
      ['openai/dall-e-3', 'openai/gpt-image-2'],
      ['flux', 'xai/grok-imagine-image'],
      ['black-forest/flux-1.1-pro', 'xai/grok-imagine-image'],
    ]) {
      const match = bundledCatalog().find(name)!
      expect(match.model.id, name).toBe(successor)
      expect(match.substitution?.requested).toBe(name)
    }
    expect(bundledCatalog().find('nano-banana')!.substitution).toBeUndefined()
  })
})

describe('estimates: list price of the size tier × n × 1.05, + the $0.001 fee', () => {
  it.each([
    ['google/nano-banana', '1024x1024', 1, 53_500n],
    ['openai/gpt-image-1', '1024x1024', 1, 22_000n],
    ['openai/gpt-image-1', '1536x1024', 3, 127_000n],
    ['google/nano-banana-pro', '4096x4096', 1, 158_500n],
    ['zai/cogview-4', '1440x1440', 2, 43_000n],
    ['bytedance/seedream-5-pro', '2848x1600', 1, 95_500n],
  ] as const)('%s at %s × %i = %i base units', (id, size, n, amount) => {
    expect(estimate(byId(id), size, n)).toMatchObject({ amount, fee: GATEWAY_FEE, basis: 'bundled' })
  })

  it('takes the higher of the bundled tier and the live price, on one basis (margin in), with the live fee', () => {
    const model = byId('google/nano-banana')
    const dearer: Pick<ModelEntry, 'prices' | 'live'> = { prices: model.prices, live: { perImage: 63_000n, marginIncluded: true, fee: 2000n } }
    expect(estimate(dearer, '1024x1024', 2)).toEqual({ amount: 128_000n, perImage: 63_000n, fee: 2000n, basis: 'live' })
    // A live list price (no margin in it) is margined before the comparison.
    expect(estimate({ prices: model.prices, live: { perImage: 60_000n, marginIncluded: false } }, '1024x1024', 1)).toMatchObject({ amount: 64_000n, basis: 'live' })
    // A live price below the tier does not lower the estimate.
    expect(estimate({ prices: model.prices, live: { perImage: 10_000n, marginIncluded: true } }, '1024x1024', 1)).toMatchObject({ amount: 53_500n, basis: 'bundled' })
    expect(estimate({ prices: {}, live: undefined }, '1024x1024', 1)).toBeUndefined()
  })
})

describe('reading the live catalog', () => {
  it('keeps image entries only, in any of the field spellings the SDK reads, ignoring unknown fields', () => {
    const models = parseModelList({
      object: 'list',
      data: [
        { id: 'anthropic/claude-sonnet-4.6', categories: ['chat', 'vision'], billing_mode: 'paid', pricing: { input: 3, output: 15 } },
        { id: 'bytedance/seedance-1.5-pro', categories: ['video'], pricing: { per_second: 0.07 } },
        { id: 'a/sdk-camel', categories: ['image'], pricePerImage: 0.05, supportedSizes: ['1024X1024', '512x512', 'huge'], maxPromptLength: 1000, provider: 'a', whatever: { nested: true } },
        { id: 'b/sdk-snake', categories: ['image', 'edit'], price_per_image: 0.02, supported_sizes: ['1024x1024'], max_prompt_length: 2000, owned_by: 'b' },
        { id: 'c/franklin', categories: ['image'], billing_mode: 'per_image', pricing: { per_image: 0.0525, transaction_fee: 0.001 } },
        { id: 'd/flat', categories: ['image'], pricing: { flat: 0.1 } },
        { id: 'e/flat-top', categories: ['image'], flat_price: 0.015 },
        { id: 'f/gone', categories: ['image'], available: false, pricePerImage: 1 },
        { id: 'no-provider-slash', categories: ['image'] },
        { id: 'g/../../etc', categories: ['image'] },
        { id: 'c/franklin', categories: ['image'], pricePerImage: 9 },
        'not an object',
        { categories: ['image'] },
      ],
    })!
    expect(models.map((m) => m.id)).toEqual(['a/sdk-camel', 'b/sdk-snake', 'c/franklin', 'd/flat', 'e/flat-top'])
    expect(models[0]).toEqual({ id: 'a/sdk-camel', name: undefined, provider: 'a', description: undefined, sizes: ['1024x1024', '512x512'], maxPromptChars: 1000, price: { perImage: 50_000n, marginIncluded: false, fee: undefined } })
    expect(models[1]).toMatchObject({ provider: 'b', sizes: ['1024x1024'], maxPromptChars: 2000, price: { perImage: 20_000n } })
    // The gateway's Base listing: the margin already in, the fee beside it.
    expect(models[2]!.price).toEqual({ perImage: 52_500n, marginIncluded: true, fee: 1000n })
    expect(models[3]!.price?.perImage).toBe(100_000n)
    expect(models[4]!.price?.perImage).toBe(15_000n)
    // A schema placeholder, or anything else without data[], is not a model list.
    expect(parseModelList({ type: 'object', properties: { data: { type: 'array' } } })).toBeUndefined()
  })

  it('turns dollar figures into base units, rounding up past the micro-dollar', () => {
    expect(usdToBaseUnits(0.04725)).toBe(47_250n)
    expect(usdToBaseUnits(0.070783146)).toBe(70_784n)
    expect(usdToBaseUnits(0)).toBe(0n)
    expect(usdToBaseUnits(-1)).toBeUndefined()
    expect(usdToBaseUnits(Number.NaN)).toBeUndefined()
  })

  it('asks with ?format=json and falls back to the plain path, whichever answers with the list', async () => {
    const list = { data: [{ id: 'x/one', categories: ['image'], pricePerImage: 0.01 }] }
    // Franklin's gateway: a placeholder without the parameter. The SDK's: no parameter known.
    const franklin = await gateway((path) => (path.includes('format=json') ? list : { type: 'object', description: 'schema placeholder' }))
    const sdk = await gateway((path) => (path.includes('format=json') ? { status: 400, body: { error: 'unknown parameter' } } : list))
    for (const server of [franklin, sdk]) {
      const snapshot = await fetchLiveModels(server.url, AbortSignal.timeout(5000))
      expect(snapshot.models.map((m) => m.id)).toEqual(['x/one'])
    }
    expect(franklin.paths).toEqual(['/v1/models?format=json'])
    expect(sdk.paths).toEqual(['/v1/models?format=json', '/v1/models'])
    const broken = await gateway(() => ({ status: 500, body: { error: 'down' } }))
    await expect(fetchLiveModels(broken.url, AbortSignal.timeout(5000))).rejects.toThrow(/format=json answered HTTP 500; .*\/v1\/models answered HTTP 500/)
    // A list without one image model would make every model look delisted: it is no catalog.
    const chatOnly = await gateway(() => ({ data: [{ id: 'anthropic/claude-sonnet-4.6', categories: ['chat'] }] }))
    await expect(fetchLiveModels(chatOnly.url, AbortSignal.timeout(5000))).rejects.toThrow(/answered a model list without image models/)
  })
})

describe('the loader: lazy, cached on disk, bounded', () => {
  const homes: string[] = []
  const home = async () => {
    const dir = await tempHome('imagegen-catalog-')
    homes.push(dir)
    return dir
  }
  afterAll(async () => Promise.all(homes.map((dir) => rm(dir, { recursive: true, force: true }))))

  it('reads nothing until asked, then once; a fresh copy (in memory or on disk) costs no request', async () => {
    const server = await gateway(() => sandboxLikeList())
    const dir = await home()
    const catalog = new Catalog({ upstream: server.url, home: dir })
    expect(server.paths).toEqual([])
    const view = await catalog.current()
    expect(view.source).toMatchObject({ kind: 'live', stale: false })
    expect(view.models.map((m) => m.id)).toContain('test/live-only')
    await catalog.current()
    await catalog.lookup('nano-banana')
    expect(server.paths).toHaveLength(1)
    // Another process with the same home finds the copy on disk.
    expect(await readdir(join(dir, 'catalog'))).toHaveLength(1)
    const other = new Catalog({ upstream: server.url, home: dir })
    expect((await other.current()).models.map((m) => m.id)).toContain('test/live-only')
    expect(server.paths).toHaveLength(1)
    // A home that served another upstream has nothing for this one.
    const elsewhere = await gateway(() => sandboxLikeList())
    await new Catalog({ upstream: elsewhere.url, home: dir }).current()
    expect(elsewhere.paths).toHaveLength(1)
  })

  it('a stale copy is refreshed; when the gateway fails the last known catalog serves, then the bundled table', async () => {
    let failing = false
    const server = await gateway(() => (failing ? { status: 503, body: { error: 'Service temporarily unavailable' } } : sandboxLikeList()))
    const dir = await home()
    const catalog = new Catalog({ upstream: server.url, home: dir, ttlMs: 50, retryMs: 60_000 })
    await catalog.current()
    await sleep(80)
    await catalog.current()
    expect(server.paths).toHaveLength(2)
    failing = true
    await sleep(80)
    const stale = await catalog.current()
    expect(stale.source).toMatchObject({ kind: 'live', stale: true })
    expect(stale.models.map((m) => m.id)).toContain('test/live-only')
    expect(server.paths).toHaveLength(4) // ?format=json, then the plain path
    // A failed read is not retried on every request.
    await catalog.current()
    expect(server.paths).toHaveLength(4)
    // A new process: the copy on disk, stale, is the last known catalog.
    const fromDisk = await new Catalog({ upstream: server.url, home: dir, ttlMs: 50 }).current()
    expect(fromDisk.source).toMatchObject({ kind: 'live', stale: true })
    await server.close()
    // Nothing on disk and no gateway: the bundled table, saying why.
    const offline = await new Catalog({ upstream: server.url, home: await home() }).current()
    expect(offline.source).toMatchObject({ kind: 'bundled', reason: expect.stringMatching(/^the live catalog could not be read: .*could not be reached/) })
    expect(offline.models.map((m) => m.id)).toEqual(MODELS.map((m) => m.id))
  })

  it('an ordinary request does not wait long for a slow gateway: it goes on with the bundled table, and the next one sees the live catalog', async () => {
    const server = await gateway(() => sandboxLikeList(), 600)
    const catalog = new Catalog({ upstream: server.url, home: await home(), waitMs: 50 })
    expect((await catalog.current()).source.kind).toBe('bundled')
    await sleep(900)
    expect((await catalog.current()).source.kind).toBe('live')
    expect(server.paths).toHaveLength(1)
  })

  it('a name no view knows waits for one bounded refresh, at most once per interval', async () => {
    let list = sandboxLikeList()
    const server = await gateway(() => list)
    const catalog = new Catalog({ upstream: server.url, home: await home(), minRefreshMs: 0 })
    await catalog.current()
    list = { data: [...list.data, { id: 'test/brand-new', categories: ['image'], pricePerImage: 0.01 }] }
    expect((await catalog.lookup('test/brand-new')).find('test/brand-new')?.model.source).toBe('live')
    expect(server.paths).toHaveLength(2)
    const throttled = new Catalog({ upstream: server.url, home: await home(), minRefreshMs: 60_000 })
    await throttled.current()
    expect((await throttled.lookup('test/nobody')).find('test/nobody')).toBeUndefined()
    expect(server.paths).toHaveLength(3)
  })

  it('the live catalog decides: a delisted model is refused, a live-only one is usable, its sizes checked when listed', async () => {
    const listed = sandboxLikeList()
    const server = await gateway(() => ({ data: listed.data.filter((m) => m.id !== 'google/nano-banana-2') }))
    const view = await new Catalog({ upstream: server.url, home: await home() }).current()
    expect(view.delisted).toEqual(['google/nano-banana-2'])
    expect(() => resolveJob({ prompt: 'x', model: 'banana-2', defaultModel: DEFAULT_MODEL }, view)).toThrow(/^google\/nano-banana-2 is no longer in the gateway's model catalog \(read .*\)\. Available models: /)
    const live = resolveJob({ prompt: 'x', model: 'test/live-only', size: '1536x1024', defaultModel: DEFAULT_MODEL }, view)
    expect(live).toMatchObject({ size: '1536x1024', estimate: { amount: 32_500n, basis: 'live' }, notes: [] })
    expect(() => resolveJob({ prompt: 'x', model: 'test/live-only', size: '512x512', defaultModel: DEFAULT_MODEL }, view)).toThrow('test/live-only does not take size 512x512. Sizes it accepts: 1024x1024, 1536x1024.')
    // Listed without sizes: a size is the gateway's to check; a shape cannot be mapped, and the answer says so.
    expect(resolveJob({ prompt: 'x', model: 'test/no-sizes', size: '640x480', defaultModel: DEFAULT_MODEL }, view).size).toBe('640x480')
    const shaped = resolveJob({ prompt: 'x', model: 'test/no-sizes', aspect_ratio: '16:9', defaultModel: DEFAULT_MODEL }, view)
    expect(shaped.size).toBe('1024x1024')
    expect(shaped.notes).toEqual(['aspect_ratio 16:9 was not applied: the catalog does not know which sizes test/no-sizes takes, so the gateway was asked for 1024x1024.', 'The catalog has no price for test/no-sizes; what the gateway asks is what is paid, within your limits.'])
    // Live-only models do not edit: the gateway's edit route has its own fixed list.
    expect(() => resolveJob({ prompt: 'x', model: 'test/live-only', defaultModel: DEFAULT_MODEL, forEdit: true }, view)).toThrow(/cannot edit images/)
  })

  it('the live catalog\'s sizes replace the table\'s, the default kept first; its price raises the estimate', async () => {
    const server = await gateway(() => ({
      data: [{ id: 'openai/gpt-image-1', categories: ['image'], supported_sizes: ['1536x1024', '1024x1024'], pricing: { per_image: 0.0315, transaction_fee: 0.001 } }],
    }))
    const view = await new Catalog({ upstream: server.url, home: await home() }).current()
    const model = view.find('gpt-image')!.model
    expect(model).toMatchObject({ source: 'bundled+live', sizes: ['1024x1024', '1536x1024'], edit: true, maxInputImages: 4 })
    expect(view.models.map((m) => m.id)).toEqual(['openai/gpt-image-1'])
    expect(estimate(model, '1024x1024', 1)).toMatchObject({ amount: 32_500n, basis: 'live' })
    expect(estimate(model, '1536x1024', 1)).toMatchObject({ amount: 43_000n, basis: 'bundled' })
  })
})

type Answer = object | { status: number; body: object }
const servers: FileServer[] = []
afterAll(async () => Promise.all(servers.map((server) => server.close())))

/** A gateway on a real port whose `/v1/models` answers `answer(path)` (after `delayMs`); `requests` are the paths asked. */
async function gateway(answer: (path: string) => Answer, delayMs = 0): Promise<FileServer & { paths: string[] }> {
  const handler: Handler = (request, response) => {
    const reply = answer(request.url ?? '')
    const { status, body } = 'status' in reply && 'body' in reply ? (reply as { status: number; body: object }) : { status: 200, body: reply }
    setTimeout(() => response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body)), delayMs)
  }
  const server = await startFileServer({ '/v1/models?format=json': handler, '/v1/models': handler })
  servers.push(server)
  return Object.assign(server, { paths: server.requests })
}

/** A unified list: every bundled model at its list price, a chat model, and two models only this gateway has. */
function sandboxLikeList(): { data: Array<Record<string, unknown>> } {
  return {
    data: [
      { id: 'anthropic/claude-sonnet-4.6', categories: ['chat', 'vision'], billing_mode: 'paid', pricing: { input: 3, output: 15 } },
      ...MODELS.map((m) => ({ id: m.id, categories: ['image'], billing_mode: 'per_image', pricing: { per_image: Number((m.prices['1024x1024']! * 105n) / 100n) / 1e6, transaction_fee: 0.001 }, supported_sizes: m.sizes })),
      { id: 'test/live-only', categories: ['image'], pricing: { per_image: 0.0315, transaction_fee: 0.001 }, supported_sizes: ['1024x1024', '1536x1024'] },
      { id: 'test/no-sizes', categories: ['image'] },
    ],
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
