/**
 * The built OpenClaw entry (dist/plugin/openclaw.js) loaded the way OpenClaw loads it, with a
 * recording stand-in for the host's `api` object. The stand-in is a test double for OpenClaw, not
 * for our code: the tools, provider and service run for real against the sandbox on real ports.
 * The real host is exercised by tests/acceptance/openclaw.sh.
 */
import { readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureToken } from '../server/auth/token.js'
import { bundledCatalog, chooseSize } from '../server/catalog/index.js'
import { resolveSettings } from '../server/config.js'
import { startProxy } from '../server/http/server.js'
import { startSandbox, type RunningSandbox } from '../server/sandbox/server.js'
import { loadWallet } from '../server/wallet/key.js'
import { close, fakeApi, listen, listening, loadEntry, ROOT } from './helpers/openclaw-host.js'
import { freePort } from './helpers/processes.js'
import { proxyWallet, tempHome } from './helpers/stack.js'

describe('OpenClaw entry and manifest', () => {
  it('exports the plugin the manifest and package.json describe', async () => {
    const manifest = JSON.parse(await readFile(join(ROOT, 'openclaw.plugin.json'), 'utf8'))
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'))
    const entry = await loadEntry()
    expect(entry.id).toBe(manifest.id)
    expect(entry.id).toBe('imagegen')
    expect(typeof entry.register).toBe('function')
    expect(pkg.openclaw.extensions).toEqual(['./dist/plugin/openclaw.js'])
    expect(pkg.dependencies.openclaw).toBeUndefined()
    // What the package carries in full is checked on the packed tarball (tests/package.test.ts).
    for (const shipped of ['dist/plugin/openclaw.js', 'dist/chunks/', 'skills/', 'SKILL.md', 'openclaw.plugin.json']) expect(pkg.files).toContain(shipped)
    expect(manifest.skills).toEqual(['./skills'])
    expect(manifest.activation).toEqual({ onStartup: true })
    expect(manifest.uiHints.walletKey.sensitive).toBe(true)
    // Every config key the plugin reads is in the schema (additionalProperties is false there).
    for (const key of ['walletKey', 'port', 'upstream', 'defaultModel', 'maxPerRequest', 'dailyBudget', 'networks', 'home'])
      expect(manifest.configSchema.properties, key).toHaveProperty(key)
  })

  it('registers exactly the tools and provider the manifest declares, in every runtime mode', async () => {
    const manifest = JSON.parse(await readFile(join(ROOT, 'openclaw.plugin.json'), 'utf8'))
    const entry = await loadEntry()
    for (const mode of ['discovery', 'tool-discovery', 'setup-runtime', 'full']) {
      const { api, registered } = fakeApi(mode)
      entry.register(api)
      expect(registered.tools.map((t) => t.name).sort(), mode).toEqual([...manifest.contracts.tools].sort())
      expect(registered.providers.map((p) => p.id), mode).toEqual(manifest.contracts.imageGenerationProviders)
      expect(registered.services.map((s) => s.id), mode).toEqual(['imagegen-proxy'])
      for (const tool of registered.tools) {
        expect(tool.label).toBeTruthy()
        expect(tool.parameters.type).toBe('object')
      }
      expect(registered.logs.filter((l) => l.level === 'error')).toEqual([])
    }
    const { api, registered } = fakeApi('cli-metadata')
    entry.register(api)
    expect(registered.tools.length + registered.services.length + registered.providers.length).toBe(0)
  })

  it('starts nothing unless registered in full mode and started by the host', async () => {
    const entry = await loadEntry()
    const port = await freePort()
    const home = await tempHome()
    try {
      for (const mode of ['discovery', 'tool-discovery', 'setup-runtime']) {
        const { api, registered } = fakeApi(mode, { port, home })
        entry.register(api)
        // Even a host that started every registered service would not get a socket from these.
        for (const service of registered.services) await service.start({})
        expect(await listening(port), mode).toBe(false)
      }
      const { api, registered } = fakeApi('full', { port, home })
      entry.register(api)
      expect(await listening(port), 'register alone binds nothing').toBe(false)
      await registered.services[0].start({})
      expect(await listening(port)).toBe(true)
      await registered.services[0].stop({})
      expect(await listening(port)).toBe(false)
    } finally {
      await rm(home, { recursive: true, force: true })
    }
  })
})

describe('tools, provider and service against the sandbox', () => {
  let sandbox: RunningSandbox
  let home: string
  let address: string

  beforeAll(async () => {
    home = await tempHome()
    address = (await loadWallet({ home })).address
    sandbox = await startSandbox({ jobMs: 50, fund: { [address]: 10_000_000n } })
  })
  afterAll(async () => {
    await sandbox.close()
    await rm(home, { recursive: true, force: true })
  })

  const config = (port: number, extra: Record<string, unknown> = {}) => ({ home, upstream: sandbox.url, port, ...extra })

  it('generate_image works with no service running (in-process): file path in text and details, preview image, one payment', async () => {
    const entry = await loadEntry()
    const { api, registered } = fakeApi('tool-discovery', config(await freePort()))
    entry.register(api)
    const tool = registered.tools.find((t) => t.name === 'generate_image')
    const before = sandbox.usdc.transfers.length
    const updates: unknown[] = []
    // The old skill's flux at one of its sizes: it runs on grok-imagine at the size grok takes, and the text says so.
    const result = await tool.execute('call-1', { prompt: 'a lighthouse at dusk', model: 'flux', size: '1216x832' }, undefined, (u: unknown) => updates.push(u))
    const [text, preview] = result.content
    expect(text.type).toBe('text')
    const path = result.details.images[0].path as string
    expect(path.startsWith(join(home, 'images'))).toBe(true)
    expect(text.text).toContain(path)
    expect(text.text).toContain('$0.022') // $0.02 × 1.05 + $0.001
    expect(text.text).toContain('Note: "flux" ran on xai/grok-imagine-image')
    expect(result.details.model).toBe('xai/grok-imagine-image')
    expect(result.details.requestedModel).toBe('flux')
    expect(result.details.notes).toHaveLength(2)
    const full = await sharp(await readFile(path)).metadata()
    expect(`${full.width}x${full.height}`).toBe('1024x1024')
    // The inline preview is a small downscaled copy, not the file.
    expect(preview.type).toBe('image')
    expect(['image/jpeg', 'image/webp']).toContain(preview.mimeType)
    const small = await sharp(Buffer.from(preview.data, 'base64')).metadata()
    expect(Math.max(small.width!, small.height!)).toBeLessThanOrEqual(512)
    expect(sandbox.usdc.transfers.length).toBe(before + 1)
    expect(sandbox.usdc.transfers.at(-1)!.from.toLowerCase()).toBe(address.toLowerCase())
    expect(updates.length).toBeGreaterThan(0)
  })

  it('list_image_models and wallet_status answer without paying', async () => {
    const entry = await loadEntry()
    const catalogReads = sandbox.counters.catalogRequests
    const { api, registered } = fakeApi('full', config(await freePort()))
    entry.register(api)
    // Registering reads no catalog: the provider's models are the bundled table's.
    expect(sandbox.counters.catalogRequests).toBe(catalogReads)
    expect(registered.providers[0].models).toEqual(bundledCatalog().models.map((m) => m.id))
    // Per model, what the catalog knows: sizes, the shapes and resolutions they make, qualities.
    const { geometry, output } = registered.providers[0].capabilities
    expect(geometry.sizesByModel['openai/gpt-image-1']).toEqual(['1024x1024', '1536x1024', '1024x1536'])
    expect(geometry.aspectRatiosByModel['openai/gpt-image-1']).toEqual(['1:1', '3:2', '2:3'])
    expect(geometry.aspectRatiosByModel['bytedance/seedream-5-pro']).toEqual(['1:1', '2:1', '4:3', '16:9'])
    expect(geometry.resolutionsByModel['google/nano-banana-pro']).toEqual(['1K', '2K', '4K'])
    expect(geometry.resolutionsByModel['google/nano-banana']).toEqual(['1K'])
    // In OpenClaw's words (low|medium|high|...): the ones that land on a quality the model takes.
    expect(output.qualitiesByModel).toEqual({ 'zai/cogview-4': ['medium', 'high'] })
    const before = sandbox.usdc.transfers.length
    const models = await registered.tools.find((t) => t.name === 'list_image_models').execute('c', {})
    expect(models.content[0].text).toContain('google/nano-banana-pro')
    expect(models.content[0].text).toContain('sandbox/live-only-image')
    const wallet = await registered.tools.find((t) => t.name === 'wallet_status').execute('c', { days: 7 })
    expect(wallet.content[0].text).toContain(address)
    expect(wallet.details.usage.days).toBe(7)
    expect(sandbox.usdc.transfers.length).toBe(before)
  })

  it('the service runs the proxy; tools then go through it, and stop frees the port', async () => {
    const entry = await loadEntry()
    const port = await freePort()
    const { api, registered } = fakeApi('full', config(port))
    entry.register(api)
    const service = registered.services[0]
    await service.start({})
    try {
      const health = await (await fetch(`http://127.0.0.1:${port}/health`)).json()
      expect(health).toMatchObject({ service: 'blockrun-imagegen', ready: true })
      expect(await proxyWallet(`http://127.0.0.1:${port}`)).toBe(address)
      expect(registered.logs.find((l) => l.level === 'info')?.message).toContain(`http://127.0.0.1:${port}`)
      const result = await registered.tools.find((t) => t.name === 'generate_image').execute('c', { prompt: 'via the proxy' })
      // A URL on the service's port means the proxy stored and serves it.
      const url = result.details.images[0].url as string
      expect(url.startsWith(`http://127.0.0.1:${port}/images/`)).toBe(true)
      const served = await fetch(url)
      expect(served.status).toBe(200)
      expect(Buffer.from(await served.arrayBuffer()).equals(await readFile(result.details.images[0].path))).toBe(true)
    } finally {
      await service.stop({})
    }
    expect(await listening(port)).toBe(false)
  })

  it('reuses an imagegen proxy already on the port and says so', async () => {
    const port = await freePort()
    const other = await startProxy(resolveSettings({ home, upstream: sandbox.url, port }))
    try {
      const entry = await loadEntry()
      const { api, registered } = fakeApi('full', config(port))
      entry.register(api)
      await registered.services[0].start({})
      expect(registered.logs.some((l) => l.level === 'info' && /already runs on .*reusing it/.test(l.message))).toBe(true)
      const result = await registered.tools.find((t) => t.name === 'generate_image').execute('c', { prompt: 'through the other proxy' })
      expect(result.details.images[0].url.startsWith(other.url)).toBe(true)
      await registered.services[0].stop({})
      expect(await listening(port), 'stop leaves a proxy it did not start alone').toBe(true)
    } finally {
      await other.close()
    }
  })

  it("leaves the port to a ClawRouter running outside OpenClaw (status ok + wallet) and keeps the tools working in-process", async () => {
    const port = await freePort()
    const clawRouter = await listen((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' })
      response.end(JSON.stringify({ status: 'ok', wallet: address }))
    }, port)
    try {
      const entry = await loadEntry()
      const { api, registered } = fakeApi('full', config(port))
      entry.register(api)
      await registered.services[0].start({})
      expect(registered.logs.some((l) => l.level === 'info' && l.message.includes('ClawRouter') && l.message.includes('does not start') && l.message.includes(address))).toBe(true)
      const before = sandbox.usdc.transfers.length
      const result = await registered.tools.find((t) => t.name === 'generate_image').execute('c', { prompt: 'in-process beside ClawRouter' })
      expect(await readFile(result.details.images[0].path)).toBeTruthy()
      expect(sandbox.usdc.transfers.length).toBe(before + 1)
      await registered.services[0].stop({})
    } finally {
      await close(clawRouter)
    }
  })

  it('fails with what to do when something else holds the port', async () => {
    for (const [what, handler] of [
      ['a non-JSON server', (_q: unknown, r: any) => r.writeHead(404).end('not found')],
      ['a JSON server that is not a proxy', (_q: unknown, r: any) => r.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"starting"}')],
    ] as const) {
      const port = await freePort()
      const squatter = await listen(handler as never, port)
      try {
        const entry = await loadEntry()
        const { api, registered } = fakeApi('full', config(port))
        entry.register(api)
        const failure = registered.services[0].start({})
        await expect(failure, what).rejects.toThrow(new RegExp(`Port ${port} is held by another program`))
        await expect(failure, what).rejects.toThrow(/BLOCKRUN_PROXY_PORT/)
      } finally {
        await close(squatter)
      }
    }
  })

  it('does not reuse a squatter that copies our /health and wallet but cannot prove it holds our token: says why, and the tools pay in-process', async () => {
    // The home holds a token (a proxy ran over it before): what fails is the squatter's proof.
    await ensureToken(home)
    const port = await freePort()
    const seen: Array<{ method: string; path: string; authorization: string | undefined }> = []
    const squatter = await listen((request, response) => {
      seen.push({ method: request.method ?? '', path: request.url ?? '', authorization: request.headers.authorization })
      const body = request.url?.startsWith('/v1/identity')
        ? { service: 'blockrun-imagegen', version: '0.1.0', wallet: address, auth: 'owner', proof: 'ef'.repeat(32) }
        : { service: 'blockrun-imagegen', ready: true, version: '0.1.0' }
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body))
    }, port)
    try {
      const entry = await loadEntry()
      const { api, registered } = fakeApi('full', config(port))
      entry.register(api)
      await expect(registered.services[0].start({})).rejects.toThrow(/calls itself an imagegen proxy, but its identity proof does not match our proxy token/)
      const before = sandbox.usdc.transfers.length
      const result = await registered.tools.find((t) => t.name === 'generate_image').execute('c', { prompt: 'not through the squatter' })
      expect(result.details.images[0].path.startsWith(join(home, 'images'))).toBe(true)
      expect(sandbox.usdc.transfers.length).toBe(before + 1)
      const status = await registered.tools.find((t) => t.name === 'wallet_status').execute('c', {})
      expect(status.content[0].text).toMatch(/Note: a program calling itself an imagegen proxy answers on .* but it is not used/)
      expect(registered.logs.some((l) => l.level === 'warn' && /is not used: its identity proof does not match/.test(l.message))).toBe(true)
      expect(seen.every((r) => r.method === 'GET' && r.authorization === undefined)).toBe(true)
      await registered.services[0].stop({})
    } finally {
      await close(squatter)
    }
  })

  it('the image provider generates, picks a size from an aspect ratio, and edits with the input image', async () => {
    const entry = await loadEntry()
    const { api, registered } = fakeApi('tool-discovery', config(await freePort()))
    entry.register(api)
    const [provider] = registered.providers
    expect(provider.models).toContain('google/nano-banana')
    expect(provider.isConfigured({})).toBe(true)
    const before = sandbox.usdc.transfers.length
    const generated = await provider.generateImage({ provider: 'imagegen', model: 'openai/gpt-image-1', prompt: 'a wide red fox', aspectRatio: '16:9', cfg: {} })
    expect(generated.model).toBe('openai/gpt-image-1')
    expect(generated.images).toHaveLength(1)
    expect(generated.metadata.notes).toEqual(['aspect_ratio 16:9 → 1536x1024 (3:2), the nearest shape openai/gpt-image-1 takes.'])
    const [image] = generated.images
    expect(image.mimeType).toBe('image/png')
    expect(image.buffer.subarray(1, 4).toString()).toBe('PNG')
    const meta = await sharp(image.buffer).metadata()
    expect(`${meta.width}x${meta.height}`).toBe('1536x1024')

    const edit = (model: string) =>
      provider.generateImage({ provider: 'imagegen', model, prompt: 'make it snowy', size: '1024x1024', inputImages: [{ buffer: image.buffer, mimeType: 'image/png' }], cfg: {} })
    // nano-banana edits on the gateway; nano-banana-2 does not, so its edit runs on gpt-image-1 and says so.
    const onBanana = await edit('google/nano-banana')
    expect(onBanana.model).toBe('google/nano-banana')
    expect(onBanana.metadata.notes).toBeUndefined()
    const fallback = await edit('google/nano-banana-2')
    expect(fallback.model).toBe('openai/gpt-image-1')
    expect(fallback.metadata.notes).toEqual(['google/nano-banana-2 cannot edit images; the edit ran on openai/gpt-image-1.'])
    expect(fallback.images[0].buffer.subarray(1, 4).toString()).toBe('PNG')
    // gpt-image-1 at 1536x1024 ($0.04), nano-banana ($0.05), gpt-image-1 at 1024x1024 ($0.02): × 1.05, + $0.001 each.
    expect(sandbox.usdc.transfers.slice(before).map((t) => t.amount)).toEqual([43_000n, 53_500n, 22_000n])
  })

  it('the image provider declares how many input images each model takes, and fuses them on the model asked for', async () => {
    const entry = await loadEntry()
    const { api, registered } = fakeApi('tool-discovery', config(await freePort()))
    entry.register(api)
    const [provider] = registered.providers
    const edit = provider.capabilities.edit
    // Every model is declared: 0 where the gateway does not edit, so OpenClaw refuses such an edit before calling.
    expect(edit.maxInputImagesByModel).toEqual({
      'google/nano-banana': 3,
      'google/nano-banana-2': 0,
      'google/nano-banana-pro': 3,
      'openai/gpt-image-1': 4,
      'openai/gpt-image-2': 4,
      'bytedance/seedream-5-pro': 0,
      'xai/grok-imagine-image': 0,
      'xai/grok-imagine-image-pro': 0,
      'zai/cogview-4': 0,
    })
    expect(edit.supportsResolution).toBe(true)
    expect(edit.maxInputImages).toBe(4)

    const inputs = await Promise.all([1, 2].map((seed) => sharp({ create: { width: 64, height: 48, channels: 3, background: { r: seed * 90, g: 40, b: 200 } } }).png().toBuffer()))
    const before = sandbox.usdc.transfers.length
    const fused = await provider.generateImage({
      provider: 'imagegen',
      model: 'google/nano-banana',
      prompt: 'the cat from the first image in the room of the second',
      inputImages: inputs.map((buffer) => ({ buffer, mimeType: 'image/png' })),
      cfg: {},
    })
    expect(fused.model).toBe('google/nano-banana')
    expect(fused.metadata.notes).toBeUndefined()
    const received = sandbox.edits.received.filter((e) => e.paid).at(-1)!
    expect(received.imageForm).toBe('array')
    expect(received.images).toHaveLength(2)
    expect(sandbox.usdc.transfers.slice(before).map((t) => t.amount)).toEqual([53_500n]) // nano-banana: $0.05 × 1.05 + $0.001

    // More than the model takes (if OpenClaw let it through) is refused before paying, naming the model.
    const tooMany = provider.generateImage({ provider: 'imagegen', model: 'google/nano-banana', prompt: 'x', inputImages: [...inputs, ...inputs].map((buffer) => ({ buffer, mimeType: 'image/png' })), cfg: {} })
    await expect(tooMany).rejects.toThrow('google/nano-banana takes at most 3 reference images per edit; this request has 4.')
    expect(sandbox.usdc.transfers.length).toBe(before + 1)
  })

  it('the image provider makes what a model can when asked for more (one paid request), and notes no size change for a size it took', async () => {
    const entry = await loadEntry()
    const { api, registered } = fakeApi('tool-discovery', config(await freePort()))
    entry.register(api)
    const [provider] = registered.providers
    const before = sandbox.usdc.transfers.length
    const many = await provider.generateImage({ provider: 'imagegen', model: 'zai/cogview-4', prompt: 'five foxes', count: 5, size: '1024X1024', cfg: {} })
    expect(many.images).toHaveLength(4)
    expect(many.metadata.notes).toEqual(['zai/cogview-4 makes at most 4 images per request; made 4, not 5.'])
    expect(sandbox.usdc.transfers.slice(before)).toHaveLength(1)
  })

  it('the image provider states substitutions and settings not applied in its metadata, and takes a model only the live catalog lists', async () => {
    const entry = await loadEntry()
    const { api, registered } = fakeApi('tool-discovery', config(await freePort()))
    entry.register(api)
    const [provider] = registered.providers
    const dalle = await provider.generateImage({ provider: 'imagegen', model: 'openai/dall-e-3', prompt: 'a photo of a fox', quality: 'hd', cfg: {} })
    expect(dalle.model).toBe('openai/gpt-image-2')
    expect(dalle.metadata.requestedModel).toBe('openai/dall-e-3')
    expect(dalle.metadata.notes).toEqual([
      '"openai/dall-e-3" ran on openai/gpt-image-2: the gateway delisted dall-e-3 on 2026-05-25 (OpenAI removed it from its API); gpt-image-2 is its OpenAI successor.',
      'quality hd was not applied: openai/gpt-image-2 takes no quality setting.',
    ])
    const liveOnly = await provider.generateImage({ provider: 'imagegen', model: 'sandbox/live-only-image', prompt: 'only the gateway knows me', size: '1536x1024', cfg: {} })
    expect(liveOnly.model).toBe('sandbox/live-only-image')
    expect(liveOnly.metadata).toMatchObject({ size: '1536x1024', estimate: { amount: '32500' }, cost: { amount: '32500' } })
  })

  it('the image provider answers with the settings that ran (model, size, shape, resolution, count, quality) and the cost', async () => {
    const entry = await loadEntry()
    const { api, registered } = fakeApi('tool-discovery', config(await freePort()))
    entry.register(api)
    const [provider] = registered.providers
    const before = sandbox.usdc.transfers.length
    // OpenClaw's "high" is the gateway's "hd" on cogview, the one model with a quality setting.
    const result = await provider.generateImage({ provider: 'imagegen', model: 'zai/cogview-4', prompt: 'a tall lighthouse', aspectRatio: '9:16', quality: 'high', count: 2, cfg: {} })
    expect(result.images).toHaveLength(2)
    expect(result.metadata.applied).toEqual({ model: 'zai/cogview-4', size: '768x1344', aspectRatio: '4:7', resolution: '1K', count: 2, quality: 'hd', mode: 'generate' })
    // Nothing the request asked went unapplied except the exact shape, which the core states.
    expect(result.metadata.notes).toEqual(['aspect_ratio 9:16 → 768x1344 (4:7), the nearest shape zai/cogview-4 takes.'])
    const transfer = sandbox.usdc.transfers.at(-1)!
    expect(sandbox.usdc.transfers.length).toBe(before + 1)
    expect(result.metadata.cost).toEqual({ usd: '$0.0325', amount: '32500', network: 'eip155:84532', payer: address, transaction: transfer.transaction, status: 'settled' })
    expect(result.metadata.estimate).toEqual({ amount: '32500', usd: '$0.0325' })
    // A quality word no model takes is reported, in the words asked.
    const plain = await provider.generateImage({ provider: 'imagegen', model: 'google/nano-banana', prompt: 'a fox', quality: 'high', cfg: {} })
    expect(plain.metadata.applied).toEqual({ model: 'google/nano-banana', size: '1024x1024', aspectRatio: '1:1', resolution: '1K', count: 1, mode: 'generate' })
    expect(plain.metadata.notes).toEqual(['quality high was not applied: google/nano-banana takes no quality setting.'])
    // An edit says so, with how many images it took in.
    const edited = await provider.generateImage({ provider: 'imagegen', model: 'openai/gpt-image-1', prompt: 'snow', resolution: '1K', inputImages: [{ buffer: plain.images[0].buffer, mimeType: 'image/png' }], cfg: {} })
    expect(edited.metadata.applied).toMatchObject({ model: 'openai/gpt-image-1', size: '1024x1024', mode: 'edit', inputImages: 1, count: 1 })
  })

  it('config errors are logged and returned by the tools, never thrown from register or start, and never echo the key', async () => {
    const entry = await loadEntry()
    const badKey = 'not-a-key-0123456789abcdef'
    for (const [pluginConfig, pattern] of [
      [{ walletKey: badKey }, /walletKey is not a private key/],
      [{ defaultModel: 'imaginary-model' }, /unknown model "imaginary-model"/],
      [{ dailyBudget: 'lots' }, /daily budget/],
    ] as const) {
      const { api, registered } = fakeApi('full', { ...config(await freePort()), ...pluginConfig })
      expect(() => entry.register(api)).not.toThrow()
      const errors = registered.logs.filter((l) => l.level === 'error')
      expect(errors).toHaveLength(1)
      expect(errors[0]!.message).toMatch(pattern)
      await expect(registered.services[0].start({})).resolves.toBeUndefined()
      await expect(registered.tools.find((t) => t.name === 'generate_image').execute('c', { prompt: 'x' })).rejects.toThrow(pattern)
      await expect(registered.providers[0].generateImage({ provider: 'imagegen', model: 'google/nano-banana', prompt: 'x', cfg: {} })).rejects.toThrow(pattern)
      expect(JSON.stringify(registered.logs)).not.toContain(badKey)
    }
  })

  it('a configured wallet key pays and never appears in logs or tool output', async () => {
    const keyHome = await tempHome()
    const key = `0x${'5a'.repeat(32)}`
    const { privateKeyToAccount } = await import('viem/accounts')
    const payer = privateKeyToAccount(key as `0x${string}`).address
    await fetch(`${sandbox.url}/_sandbox/fund`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ address: payer, amount: '1000000' }) })
    try {
      const entry = await loadEntry()
      const port = await freePort()
      const { api, registered } = fakeApi('full', { home: keyHome, upstream: sandbox.url, port, walletKey: key })
      entry.register(api)
      await registered.services[0].start({})
      try {
        const result = await registered.tools.find((t) => t.name === 'generate_image').execute('c', { prompt: 'paid by the configured key' })
        const wallet = await registered.tools.find((t) => t.name === 'wallet_status').execute('c', {})
        expect(sandbox.usdc.transfers.at(-1)!.from.toLowerCase()).toBe(payer.toLowerCase())
        const everything = JSON.stringify([registered.logs, result, wallet])
        expect(everything).toContain(payer)
        expect(everything.toLowerCase()).not.toContain(key.slice(2).toLowerCase())
      } finally {
        await registered.services[0].stop({})
      }
    } finally {
      await rm(keyHome, { recursive: true, force: true })
    }
  })
})

describe('size choice for geometry hints (the core\'s, which the OpenClaw provider uses)', () => {
  const model = (name: string) => bundledCatalog().find(name)!.model
  it.each([
    // nano-banana takes 1024x1024 only on the gateway: every hint lands there.
    ['nano-banana', { size: '1216x832' }, '1024x1024'],
    ['nano-banana', { aspectRatio: '16:9' }, '1024x1024'],
    ['gpt-image', { size: '1536X1024' }, '1536x1024'],
    ['gpt-image', { size: '1792x1024' }, '1536x1024'],
    ['gpt-image', { aspectRatio: '16:9' }, '1536x1024'],
    ['gpt-image', { aspectRatio: '9:16' }, '1024x1536'],
    ['gpt-image', { aspectRatio: 'portrait' }, '1024x1536'],
    ['cogview', { aspectRatio: '2:3' }, '768x1344'],
    ['cogview', { aspectRatio: 'landscape' }, '1344x768'],
    ['cogview', { aspectRatio: '1:1', resolution: '1K' }, '1024x1024'],
    ['seedream', { aspectRatio: '16:9' }, '2848x1600'],
    ['seedream', { aspectRatio: '4:3' }, '2304x1728'],
    // No portrait size at all: the nearest shape, the default first.
    ['seedream', { aspectRatio: 'portrait' }, '1024x1024'],
    ['banana-pro', { aspectRatio: 'portrait' }, '1024x1024'],
    ['banana-pro', { resolution: '4K' }, '4096x4096'],
    ['banana-pro', { resolution: '2K', aspectRatio: '1:1' }, '2048x2048'],
    ['banana-pro', { aspectRatio: '1:1' }, '1024x1024'],
    // A resolution alone keeps the default square shape on every model.
    ['nano-banana', { resolution: '2K' }, '1024x1024'],
    ['banana-pro', { resolution: '2K' }, '2048x2048'],
    ['seedream', { resolution: '2K' }, '2048x2048'],
    ['gpt-image', { resolution: '1K' }, '1024x1024'],
    ['nano-banana', {}, undefined],
  ] as const)('%s %j → %s', (name, request, expected) => {
    expect(chooseSize(model(name), request)).toBe(expected)
  })

  it('leaves a model whose sizes are unknown to the gateway', () => {
    expect(chooseSize({ sizes: [] }, { aspectRatio: '16:9' })).toBeUndefined()
  })
})

describe('image provider timeout', () => {
  it('follows the configured timeoutSeconds plus a margin, not a fixed 300 s', async () => {
    const entry = await loadEntry()
    const timeoutFor = (pluginConfig: Record<string, unknown>) => {
      const { api, registered } = fakeApi('full', pluginConfig)
      entry.register(api)
      return registered.providers[0].defaultTimeoutMs as number
    }
    expect(timeoutFor({ timeoutSeconds: 900 })).toBe(930_000)
    expect(timeoutFor({ timeoutSeconds: 60 })).toBe(90_000)
    // The default deadline (300 s) still gets its margin, so the core's own timeout message wins.
    expect(timeoutFor({})).toBe(330_000)
  })
})
