import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { endpointName, identityProof } from '../server/auth/identity.js'
import { probeProxy, remoteCore } from '../server/core/remote.js'
import { ImagegenError } from '../server/errors.js'
import { makeImage } from './helpers/images.js'

const TOKEN = randomBytes(32).toString('base64url')
const WALLET = '0x1111111111111111111111111111111111111111'
const credentials = { token: TOKEN, wallet: WALLET }

/** Answers `/v1/identity` as a proxy holding `token` and `wallet` does; undefined for other paths. */
function answerIdentity(request: IncomingMessage, response: ServerResponse, { token = TOKEN, wallet = WALLET } = {}): boolean {
  const url = new URL(request.url ?? '/', 'http://x')
  if (url.pathname !== '/v1/identity') return false
  const nonce = url.searchParams.get('nonce') ?? ''
  const endpoint = endpointName(request.socket.localAddress, request.socket.localPort)
  response.writeHead(200, { 'content-type': 'application/json' })
  response.end(JSON.stringify({ service: 'blockrun-imagegen', version: '0', wallet, auth: 'owner', proof: identityProof(token, { nonce, wallet, auth: 'owner', endpoint }) }))
  return true
}

async function failure(promise: Promise<unknown>): Promise<ImagegenError> {
  const error = await promise.then(
    () => undefined,
    (error: unknown) => error,
  )
  expect(error).toBeInstanceOf(ImagegenError)
  return error as ImagegenError
}

/**
 * The remote core (MCP server and OpenClaw tools calling a running proxy) against a stand-in proxy
 * on a real port: what each kind of answer becomes. The request goes over node:http, so nothing
 * but the caller's signal bounds the wait (fetch would give up after 300 s without headers).
 */
describe('remote core', () => {
  let server: Server
  let baseUrl: string
  let dir: string
  let imagePath: string
  let handler: (request: IncomingMessage, response: ServerResponse) => void = () => {}
  /** Every request the stand-in saw: path, authorization header, and the socket it came on. */
  let seen: Array<{ path: string; authorization: string | undefined; socket: Socket }> = []

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'imagegen-remote-'))
    imagePath = join(dir, '1700000000000-0123456789abcdef.png')
    await writeFile(imagePath, await makeImage(16, 16))
    server = createServer((request, response) => {
      seen.push({ path: request.url ?? '', authorization: request.headers.authorization, socket: request.socket })
      if (answerIdentity(request, response)) return
      let body = ''
      request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')))
      request.on('end', () => {
        ;(request as IncomingMessage & { body: string }).body = body
        handler(request, response)
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  beforeEach(() => {
    seen = []
  })
  afterAll(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
    await rm(dir, { recursive: true, force: true })
  })

  const json = (status: number, body: unknown) => (_request: IncomingMessage, response: ServerResponse) =>
    response.writeHead(status, { 'content-type': 'application/json' }).end(typeof body === 'string' ? body : JSON.stringify(body))


  it('posts the input as JSON and reads the result back', async () => {
    let received: unknown
    handler = (request, response) => {
      received = JSON.parse((request as IncomingMessage & { body: string }).body)
      json(200, {
        created: 1,
        model: 'google/nano-banana',
        size: '1024x1024',
        data: [{ url: `${baseUrl}/images/x.png`, path: imagePath, file: '1700000000000-0123456789abcdef.png' }],
        cost: { usd: '0.05', amount: '50000', asset: '0xasset', network: 'eip155:84532', pay_to: '0xpayto', payer: '0xpayer', transaction: '0xtx', status: 'settled' },
      })(request, response)
    }
    const result = await remoteCore(baseUrl, credentials).generate({ model: 'nano-banana', prompt: 'a cat' })
    expect(received).toEqual({ model: 'nano-banana', prompt: 'a cat' })
    expect(result.images[0]).toMatchObject({ path: imagePath, mimeType: 'image/png' })
    expect(result.images[0]!.bytes).toBeGreaterThan(0)
    expect(result.cost).toMatchObject({ amount: 50000n, transaction: '0xtx', status: 'settled' })
  })

  it('a 200 whose body is not JSON is bad_body, not an internal error', async () => {
    handler = json(200, '<html>oops</html>')
    const error = await failure(remoteCore(baseUrl, credentials).generate({ prompt: 'a cat' }))
    expect(error.code).toBe('bad_body')
    expect(error.status).toBe(502)
  })

  it('a 200 JSON body without images is bad_body', async () => {
    handler = json(200, { ok: true })
    const error = await failure(remoteCore(baseUrl, credentials).edit({ prompt: 'a cat', image: 'x' }))
    expect(error.code).toBe('bad_body')
  })

  it("the proxy's error body is passed on", async () => {
    handler = json(402, { error: { type: 'payment_error', message: 'Wallet is empty', code: 'insufficient_funds', param: null } })
    const error = await failure(remoteCore(baseUrl, credentials).generate({ prompt: 'a cat' }))
    expect(error).toMatchObject({ status: 402, type: 'payment_error', code: 'insufficient_funds', message: 'Wallet is empty' })
  })

  it('a connection closed mid-answer is reported, not parsed', async () => {
    handler = (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' })
      response.write('{"created":1,')
      setTimeout(() => response.socket?.destroy(), 20)
    }
    const error = await failure(remoteCore(baseUrl, credentials).generate({ prompt: 'a cat' }))
    expect(error.code).toBe('proxy_unreachable')
  })

  it('a closed port is proxy_unreachable', async () => {
    const spare = createServer()
    await new Promise<void>((resolve) => spare.listen(0, '127.0.0.1', resolve))
    const port = (spare.address() as AddressInfo).port
    await new Promise((resolve) => spare.close(resolve))
    const error = await failure(remoteCore(`http://127.0.0.1:${port}`, credentials).generate({ prompt: 'a cat' }))
    expect(error.code).toBe('proxy_unreachable')
    expect(error.message).toMatch(/could not be reached/)
  })

  it("waits as long as the proxy takes, and the caller's signal aborts the request", async () => {
    let hungUp = false
    // Never answers; notes when the client hangs up.
    handler = (_request, response) => void response.once('close', () => (hungUp = true))
    const controller = new AbortController()
    const call = remoteCore(baseUrl, credentials).generate({ prompt: 'slow' }, { signal: controller.signal })
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(hungUp).toBe(false)
    controller.abort(new Error('caller gave up'))
    await expect(call).rejects.toThrow('caller gave up')
    // The connection to the proxy is closed, so the proxy sees the cancellation.
    await expect.poll(() => hungUp).toBe(true)
  })
  it('sends the token only on the connection that just proved itself, one proof per call', async () => {
    handler = json(200, { created: 1, model: 'm', size: '1x1', data: [] })
    const core = remoteCore(baseUrl, credentials)
    await core.wallet()
    await core.usage(7)
    expect(seen.map((r) => r.path.replace(/nonce=[0-9a-f]+/, 'nonce=…'))).toEqual(['/v1/identity?nonce=…', '/v1/wallet', '/v1/identity?nonce=…', '/v1/usage?days=7'])
    // No secret on the challenge; the bearer only after it, on the same socket.
    expect(seen[0]!.authorization).toBeUndefined()
    expect(seen[1]!.authorization).toBe(`Bearer ${TOKEN}`)
    expect(seen[1]!.socket).toBe(seen[0]!.socket)
    expect(seen[3]!.socket).toBe(seen[2]!.socket)
    expect(seen[2]!.socket).not.toBe(seen[0]!.socket)
  })

  it('a proxy whose proof does not match our token gets nothing but the challenge', async () => {
    const impostor = await standIn((request, response) => answerIdentity(request, response, { token: randomBytes(32).toString('base64url') }) || response.writeHead(200).end('{}'))
    try {
      const error = await failure(remoteCore(impostor.url, credentials).generate({ prompt: 'a secret prompt' }))
      expect(error.code).toBe('proxy_not_proven')
      expect(error.message).toMatch(/does not match our proxy token/)
      expect(impostor.seen.map((r) => r.path.split('?')[0])).toEqual(['/v1/identity'])
      expect(impostor.seen.every((r) => r.authorization === undefined && !r.body.includes('secret prompt'))).toBe(true)
    } finally {
      await impostor.close()
    }
  })

  it('a proxy of another wallet is not used, though its proof is right', async () => {
    const other = await standIn((request, response) => answerIdentity(request, response, { wallet: '0x2222222222222222222222222222222222222222' }) || response.writeHead(200).end('{}'))
    try {
      const error = await failure(remoteCore(other.url, credentials).wallet())
      expect(error.message).toMatch(/pays from wallet 0x2222.*not ours \(0x1111/)
      expect(other.seen).toHaveLength(1)
    } finally {
      await other.close()
    }
  })

  it('when the proxy closes the proved connection, the request waits for a new proof instead of going out on a new socket', async () => {
    let identities = 0
    const closer = await standIn((request, response) => {
      // The first two proofs are answered, then the connection is closed.
      if (request.url?.startsWith('/v1/identity') && ++identities <= 2) response.setHeader('connection', 'close')
      if (!answerIdentity(request, response)) response.writeHead(200, { 'content-type': 'application/json' }).end('{"address":"x"}')
    })
    try {
      await remoteCore(closer.url, credentials).wallet()
      const call = closer.seen.findIndex((r) => r.path === '/v1/wallet')
      expect(call).toBe(3)
      expect(closer.seen).toHaveLength(4)
      expect(closer.seen[call]!.socket).toBe(closer.seen[call - 1]!.socket)
      expect(closer.seen[call - 1]!.path).toMatch(/^\/v1\/identity/)
      expect(closer.seen.filter((r) => r.authorization !== undefined)).toHaveLength(1)
    } finally {
      await closer.close()
    }
  })
})

type StandIn = { url: string; seen: Array<{ path: string; authorization: string | undefined; socket: Socket; body: string }>; close(): Promise<void> }

/** A throwaway HTTP server on a free loopback port that records what reaches it. */
async function standIn(handle: (request: IncomingMessage, response: ServerResponse) => unknown): Promise<StandIn> {
  const seen: StandIn['seen'] = []
  const server = createServer((request, response) => {
    let body = ''
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')))
    request.on('end', () => {
      seen.push({ path: request.url ?? '', authorization: request.headers.authorization, socket: request.socket, body })
      handle(request, response)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    async close() {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}

describe('probing the port', () => {
  const probe = (url: string) => probeProxy(url, credentials)

  it('a proxy with our token and wallet is ours', async () => {
    const ours = await standIn((request, response) => answerIdentity(request, response) || response.writeHead(404).end())
    try {
      expect(await probe(ours.url)).toEqual({ kind: 'ours', wallet: WALLET, auth: 'owner' })
    } finally {
      await ours.close()
    }
  })

  it("a squatter copying our /health and our wallet address, with a made-up proof, is foreign and named as an imagegen look-alike", async () => {
    const squatter = await standIn((request, response) => {
      const body = request.url?.startsWith('/v1/identity')
        ? { service: 'blockrun-imagegen', version: '0.1.0', wallet: WALLET, auth: 'owner', proof: 'ab'.repeat(32) }
        : { service: 'blockrun-imagegen', ready: true, version: '0.1.0' }
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body))
    })
    try {
      const result = await probe(squatter.url)
      expect(result).toMatchObject({ kind: 'foreign', looksLike: 'imagegen' })
      expect(result.kind === 'foreign' && result.reason).toMatch(/does not match our proxy token/)
    } finally {
      await squatter.close()
    }
  })

  it('a squatter relaying the challenge to a real proxy of ours on another port fails: the proof names the address it was made for', async () => {
    const real = await standIn((request, response) => answerIdentity(request, response) || response.writeHead(404).end())
    const relay = await standIn((request, response) => {
      const upstream = httpRequest(`${real.url}${request.url}`, { method: request.method, headers: request.headers }, (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(response)
      })
      upstream.end()
    })
    try {
      expect(await probe(real.url)).toMatchObject({ kind: 'ours' })
      const relayed = await probe(relay.url)
      expect(relayed).toMatchObject({ kind: 'foreign', looksLike: 'other' })
      const error = await failure(remoteCore(relay.url, credentials).generate({ prompt: 'relayed' }))
      expect(error.code).toBe('proxy_not_proven')
      expect(relay.seen.every((r) => r.authorization === undefined)).toBe(true)
    } finally {
      await relay.close()
      await real.close()
    }
  })

  it("ClawRouter's /health (status ok + wallet) is recognised, not used", async () => {
    const clawRouter = await standIn((_request, response) => response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok', wallet: WALLET })))
    try {
      expect(await probe(clawRouter.url)).toMatchObject({ kind: 'foreign', looksLike: 'clawrouter', claimedWallet: WALLET })
    } finally {
      await clawRouter.close()
    }
  })

  it('a closed port is absent; without our token nothing can be proved', async () => {
    const spare = await standIn(() => {})
    const url = spare.url
    await spare.close()
    expect(await probe(url)).toEqual({ kind: 'absent' })
    const ours = await standIn((request, response) => answerIdentity(request, response) || response.writeHead(404).end())
    try {
      const result = await probeProxy(ours.url, { reason: 'there is no proxy token here' })
      expect(result).toMatchObject({ kind: 'foreign', reason: 'there is no proxy token here' })
      expect(ours.seen.map((r) => r.path)).toEqual(['/health'])
    } finally {
      await ours.close()
    }
  })
})
