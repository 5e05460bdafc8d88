import { readdir, readFile, rm } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { resolveSettings, type SettingsInput } from '../server/config.js'
import { startProxy, type RunningProxy } from '../server/http/server.js'
import { makeImage, untagged } from './helpers/images.js'
import { readJsonResponse, tempHome } from './helpers/stack.js'

/**
 * Result URLs come from the upstream, so they are downloaded through the guarded downloader: a
 * hostile (or compromised) upstream must not make the proxy fetch the cloud metadata endpoint or
 * a service on the user's network. The upstream's own origin may be loopback/private (the sandbox,
 * a self-hosted gateway); anything else private needs allowPrivateUrls, and link-local/metadata
 * is never fetched.
 *
 * The fake upstream here answers 200 without asking for payment, with whatever URL the test sets.
 */
type Listening = { server: Server; url: string; connections: number; requests: string[] }

async function listen(handler: (path: string, respond: (status: number, headers: Record<string, string>, body?: Buffer | string) => void) => void): Promise<Listening> {
  const state: Listening = { server: undefined as unknown as Server, url: '', connections: 0, requests: [] }
  const server = createServer((request, response) => {
    state.requests.push(`${request.method} ${request.url}`)
    request.resume()
    request.on('end', () =>
      handler(request.url ?? '/', (status, headers, body) => {
        response.writeHead(status, headers).end(body)
      }),
    )
  })
  server.on('connection', () => state.connections++)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  state.server = server
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return state
}

async function close(listening: Listening): Promise<void> {
  listening.server.closeAllConnections()
  await new Promise<void>((resolve) => listening.server.close(() => resolve()))
}

describe('result URLs from the upstream', () => {
  let png: Buffer
  let resultUrl = ''
  let upstream: Listening
  /** Another loopback service on the user's machine: must never be contacted unless allowed. */
  let bystander: Listening

  beforeAll(async () => {
    png = await makeImage(64, 64)
    bystander = await listen((_path, respond) => respond(200, { 'content-type': 'image/png' }, png))
    upstream = await listen((path, respond) => {
      if (path === '/v1/images/generations') return respond(200, { 'content-type': 'application/json' }, JSON.stringify({ created: 1, data: [{ url: resultUrl }] }))
      if (path === '/files/ok.png') return respond(200, { 'content-type': 'image/png', 'content-length': String(png.length) }, png)
      if (path === '/files/to-bystander') return respond(302, { location: `${bystander.url}/secret.png` })
      if (path === '/files/to-metadata') return respond(302, { location: 'http://169.254.169.254/latest/meta-data/' })
      respond(404, { 'content-type': 'text/plain' }, 'not found')
    })
  })
  afterAll(async () => {
    await close(upstream)
    await close(bystander)
  })

  async function generate(url: string, settings: SettingsInput = {}) {
    resultUrl = url
    const home = await tempHome()
    let proxy: RunningProxy | undefined
    try {
      proxy = await startProxy(resolveSettings({ home, upstream: upstream.url, port: 0, rpcUrl: 'http://127.0.0.1:9', sepoliaRpcUrl: 'http://127.0.0.1:9', ...settings }))
      const response = await fetch(`${proxy.url}/v1/images/generations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'nano-banana', prompt: 'a cat' }),
      })
      const answer = await readJsonResponse(response)
      const images = await readdir(join(home, 'images')).catch(() => [] as string[])
      const file = answer.status === 200 ? await readFile(answer.body.data[0].path) : undefined
      return { ...answer, images, file }
    } finally {
      await proxy?.close()
      await rm(home, { recursive: true, force: true })
    }
  }

  it('downloads a URL on the upstream’s own (loopback) origin', async () => {
    const { status, body, file } = await generate(`${upstream.url}/files/ok.png`)
    expect(status, JSON.stringify(body)).toBe(200)
    expect(file && untagged(file).equals(png)).toBe(true)
  })

  for (const allowPrivateUrls of [false, true]) {
    it(`refuses the cloud metadata address (allowPrivateUrls ${allowPrivateUrls})`, async () => {
      const { status, body, images } = await generate('http://169.254.169.254/latest/meta-data/iam/security-credentials/', { allowPrivateUrls })
      expect(status, JSON.stringify(body)).toBe(502)
      expect(body.error.code).toBe('download_failed')
      expect(body.error.message).toMatch(/169\.254\.169\.254.*refused/)
      expect(images).toEqual([])
    })

    it(`refuses a redirect from the upstream to the metadata address (allowPrivateUrls ${allowPrivateUrls})`, async () => {
      const { status, body } = await generate(`${upstream.url}/files/to-metadata`, { allowPrivateUrls })
      expect(status, JSON.stringify(body)).toBe(502)
      expect(body.error.code).toBe('download_failed')
      expect(body.error.message).toMatch(/169\.254\.169\.254.*refused/)
    })
  }

  it('refuses a private LAN address', async () => {
    const { status, body } = await generate('http://192.168.1.1/admin.png')
    expect(status, JSON.stringify(body)).toBe(502)
    expect(body.error.code).toBe('download_failed')
    expect(body.error.message).toMatch(/private network address/)
  })

  it('refuses another loopback port, by IP and by name, without connecting', async () => {
    const port = new URL(bystander.url).port
    for (const url of [`${bystander.url}/secret.png`, `http://localhost:${port}/secret.png`]) {
      const { status, body, images } = await generate(url)
      expect(status, JSON.stringify(body)).toBe(502)
      expect(body.error.code).toBe('download_failed')
      expect(body.error.message).toMatch(/loopback/)
      expect(images).toEqual([])
    }
    expect(bystander.connections).toBe(0)
  })

  it('refuses a redirect from the upstream’s origin to another loopback port, without connecting', async () => {
    const { status, body } = await generate(`${upstream.url}/files/to-bystander`)
    expect(status, JSON.stringify(body)).toBe(502)
    expect(body.error.code).toBe('download_failed')
    expect(body.error.message).toMatch(/redirected from/)
    expect(bystander.connections).toBe(0)
    expect(upstream.requests).toContain('GET /files/to-bystander')
  })

  it('with allowPrivateUrls, another loopback port is downloaded', async () => {
    const before = bystander.connections
    const { status, body, file } = await generate(`${bystander.url}/shared.png`, { allowPrivateUrls: true })
    expect(status, JSON.stringify(body)).toBe(200)
    expect(file && untagged(file).equals(png)).toBe(true)
    expect(bystander.connections).toBe(before + 1)
  })
})
