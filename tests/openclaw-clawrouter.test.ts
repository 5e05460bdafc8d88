/**
 * Living beside ClawRouter in one OpenClaw (issue #18). ClawRouter's proxy wants the port our
 * proxy defaults to; it cannot share it, and the gateway starts plugin services in no fixed order.
 * The stand-in (tests/fixtures/fake-clawrouter/proxy.mjs) starts the way ClawRouter's does: it
 * reuses a proxy in its own /health shape, else retries a held port and dies with EADDRINUSE.
 * Our plugin is the built bundle, loaded as OpenClaw loads it (tests/helpers/openclaw-host.ts).
 */
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { clawRouterInConfig } from '../plugin/openclaw/clawrouter.js'
import { startSandbox, type RunningSandbox } from '../server/sandbox/server.js'
import { loadWallet } from '../server/wallet/key.js'
import { startFakeClawRouter, type FakeClawRouter } from './fixtures/fake-clawrouter/proxy.mjs'
import { fakeApi, listening, loadEntry } from './helpers/openclaw-host.js'
import { freePort } from './helpers/processes.js'
import { tempHome } from './helpers/stack.js'

/** The OpenClaw config of a user who installed ClawRouter: OpenClaw's install entry, and the provider ClawRouter writes. */
const withClawRouter = (port: number) => ({
  plugins: { entries: { clawrouter: { enabled: true }, imagegen: { enabled: true } } },
  models: { providers: { blockrun: { baseUrl: `http://127.0.0.1:${port}/v1`, api: 'openai-completions' } } },
})

describe('which OpenClaw configs have ClawRouter, and on which port', () => {
  it.each([
    ['installed (OpenClaw writes an entry on install)', { plugins: { entries: { clawrouter: { enabled: true } } } }, {}, { port: 8402 }],
    ['installed, port from BLOCKRUN_PROXY_PORT as ClawRouter reads it', { plugins: { entries: { clawrouter: {} } } }, { BLOCKRUN_PROXY_PORT: '9555' }, { port: 9555 }],
    ["its provider's base URL wins over the environment", withClawRouter(9100), { BLOCKRUN_PROXY_PORT: '9555' }, { port: 9100 }],
    ['only its provider left in the config (chat traffic still goes there)', { models: { providers: { blockrun: { baseUrl: 'http://localhost:8402/v1' } } } }, {}, { port: 8402 }],
    ['disabled', { plugins: { entries: { clawrouter: { enabled: false } } } }, {}, undefined],
    ['denied', { plugins: { deny: ['clawrouter'], entries: { clawrouter: {} } } }, {}, undefined],
    ['not on the allow list', { plugins: { allow: ['imagegen'], entries: { clawrouter: {} } } }, {}, undefined],
    ['all plugins off', { plugins: { enabled: false, entries: { clawrouter: {} } } }, {}, undefined],
    ['a blockrun provider elsewhere', { models: { providers: { blockrun: { baseUrl: 'https://blockrun.ai/api/v1' } } } }, {}, undefined],
    ['absent', { plugins: { entries: { imagegen: { enabled: true } } } }, {}, undefined],
    ['no config at all', undefined, {}, undefined],
  ] as const)('%s', (_name, config, env, expected) => {
    const claim = clawRouterInConfig(config, env)
    if (expected === undefined) expect(claim).toBeUndefined()
    else expect(claim).toMatchObject(expected)
  })
})

describe('ClawRouter configured in the same OpenClaw', () => {
  let sandbox: RunningSandbox
  let home: string
  let address: string
  const running: FakeClawRouter[] = []

  beforeAll(async () => {
    home = await tempHome()
    address = (await loadWallet({ home })).address
    sandbox = await startSandbox({ fund: { [address]: 10_000_000n } })
  })
  afterAll(async () => {
    for (const router of running) if (router.kind === 'listening') await router.close()
    await sandbox.close()
    await rm(home, { recursive: true, force: true })
  })

  const startClawRouter = async (port: number, log?: (line: string) => void) => {
    const router = await startFakeClawRouter({ port, retryDelayMs: 50, log })
    running.push(router)
    return router
  }

  /** Our plugin in full mode, as the gateway registers it, its service started. */
  const startOurs = async (port: number, config: Record<string, unknown>) => {
    const entry = await loadEntry()
    const { api, registered } = fakeApi('full', { home, upstream: sandbox.url, port }, config)
    entry.register(api)
    await registered.services[0].start({ config })
    return registered
  }

  /** Both front doors pay in-process, from our wallet, and ClawRouter hears nothing from us. */
  const expectInProcess = async (registered: Awaited<ReturnType<typeof startOurs>>, router: FakeClawRouter, port: number) => {
    const before = sandbox.usdc.transfers.length
    const tool = await registered.tools.find((t) => t.name === 'generate_image').execute('c', { prompt: 'a lighthouse beside ClawRouter' })
    expect(tool.details.images[0].path.startsWith(join(home, 'images'))).toBe(true)
    const provided = await registered.providers[0].generateImage({ provider: 'imagegen', model: 'google/nano-banana', prompt: 'a fox beside ClawRouter', cfg: {} })
    expect(provided.images).toHaveLength(1)
    const paid = sandbox.usdc.transfers.slice(before)
    expect(paid).toHaveLength(2)
    expect(paid.every((t) => t.from.toLowerCase() === address.toLowerCase())).toBe(true)
    const status = await registered.tools.find((t) => t.name === 'wallet_status').execute('c', {})
    expect(status.content[0].text).toContain(`Note: ClawRouter (BlockRun's own proxy) owns port ${port} in this OpenClaw`)
    expect(router.kind).toBe('listening')
    if (router.kind === 'listening') expect(router.requests, 'nothing of ours reached ClawRouter, not even a probe').toEqual([])
  }

  it('our service starts first: it leaves the port alone, and ClawRouter then starts on it', async () => {
    const port = await freePort()
    const registered = await startOurs(port, withClawRouter(port))
    try {
      expect(await listening(port)).toBe(false)
      const said = registered.logs.find((l) => l.level === 'info' && l.message.includes('ClawRouter'))?.message ?? ''
      expect(said).toContain(`takes port ${port}`)
      expect(said).toContain('does not start there')
      expect(said).toContain(`plugins.entries.imagegen.config.port`)
      const router = await startClawRouter(port)
      await expectInProcess(registered, router, port)
    } finally {
      await registered.services[0].stop({})
    }
  })

  it('ClawRouter starts first: our service does not touch its port', async () => {
    const port = await freePort()
    const router = await startClawRouter(port)
    const registered = await startOurs(port, withClawRouter(port))
    try {
      expect(registered.logs.some((l) => l.level === 'info' && l.message.includes(`takes port ${port}`))).toBe(true)
      expect(registered.logs.filter((l) => l.level === 'warn' || l.level === 'error')).toEqual([])
      await expectInProcess(registered, router, port)
    } finally {
      await registered.services[0].stop({})
    }
  })

  it('our proxy still runs on a port of its own when one is configured, beside ClawRouter', async () => {
    const clawPort = await freePort()
    const ourPort = await freePort()
    const router = await startClawRouter(clawPort)
    const registered = await startOurs(ourPort, withClawRouter(clawPort))
    try {
      expect(await listening(ourPort)).toBe(true)
      const result = await registered.tools.find((t) => t.name === 'generate_image').execute('c', { prompt: 'through our own proxy' })
      expect(result.details.images[0].url.startsWith(`http://127.0.0.1:${ourPort}/images/`)).toBe(true)
      if (router.kind === 'listening') expect(router.requests).toEqual([])
    } finally {
      await registered.services[0].stop({})
    }
  })

  it('why: without ClawRouter in the config our proxy takes the port, and a ClawRouter started after it dies with EADDRINUSE', async () => {
    const port = await freePort()
    const registered = await startOurs(port, { plugins: { entries: { imagegen: { enabled: true } } } })
    try {
      expect(await listening(port)).toBe(true)
      const lines: string[] = []
      await expect(startClawRouter(port, (line) => lines.push(line))).rejects.toMatchObject({ code: 'EADDRINUSE' })
      // Our /health is not in ClawRouter's shape, so it never mistakes our proxy for one of its own.
      expect(lines.some((line) => line.includes('reusing'))).toBe(false)
      expect(lines.at(-1)).toContain('still in use after 5 attempts')
    } finally {
      await registered.services[0].stop({})
    }
  })
})
