import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { remoteCore } from '../server/core/remote.js'
import { ImagegenError } from '../server/errors.js'
import { makeImage } from './helpers/images.js'

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

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'imagegen-remote-'))
    imagePath = join(dir, '1700000000000-0123456789abcdef.png')
    await writeFile(imagePath, await makeImage(16, 16))
    server = createServer((request, response) => {
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
  afterAll(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
    await rm(dir, { recursive: true, force: true })
  })

  const json = (status: number, body: unknown) => (_request: IncomingMessage, response: ServerResponse) =>
    response.writeHead(status, { 'content-type': 'application/json' }).end(typeof body === 'string' ? body : JSON.stringify(body))

  const failure = async (promise: Promise<unknown>) => {
    const error = await promise.then(
      () => undefined,
      (error: unknown) => error,
    )
    expect(error).toBeInstanceOf(ImagegenError)
    return error as ImagegenError
  }

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
    const result = await remoteCore(baseUrl).generate({ model: 'nano-banana', prompt: 'a cat' })
    expect(received).toEqual({ model: 'nano-banana', prompt: 'a cat' })
    expect(result.images[0]).toMatchObject({ path: imagePath, mimeType: 'image/png' })
    expect(result.images[0]!.bytes).toBeGreaterThan(0)
    expect(result.cost).toMatchObject({ amount: 50000n, transaction: '0xtx', status: 'settled' })
  })

  it('a 200 whose body is not JSON is bad_body, not an internal error', async () => {
    handler = json(200, '<html>oops</html>')
    const error = await failure(remoteCore(baseUrl).generate({ prompt: 'a cat' }))
    expect(error.code).toBe('bad_body')
    expect(error.status).toBe(502)
  })

  it('a 200 JSON body without images is bad_body', async () => {
    handler = json(200, { ok: true })
    const error = await failure(remoteCore(baseUrl).edit({ prompt: 'a cat', image: 'x' }))
    expect(error.code).toBe('bad_body')
  })

  it("the proxy's error body is passed on", async () => {
    handler = json(402, { error: { type: 'payment_error', message: 'Wallet is empty', code: 'insufficient_funds', param: null } })
    const error = await failure(remoteCore(baseUrl).generate({ prompt: 'a cat' }))
    expect(error).toMatchObject({ status: 402, type: 'payment_error', code: 'insufficient_funds', message: 'Wallet is empty' })
  })

  it('a connection closed mid-answer is reported, not parsed', async () => {
    handler = (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' })
      response.write('{"created":1,')
      setTimeout(() => response.socket?.destroy(), 20)
    }
    const error = await failure(remoteCore(baseUrl).generate({ prompt: 'a cat' }))
    expect(error.code).toBe('proxy_unreachable')
  })

  it('a closed port is proxy_unreachable', async () => {
    const spare = createServer()
    await new Promise<void>((resolve) => spare.listen(0, '127.0.0.1', resolve))
    const port = (spare.address() as AddressInfo).port
    await new Promise((resolve) => spare.close(resolve))
    const error = await failure(remoteCore(`http://127.0.0.1:${port}`).generate({ prompt: 'a cat' }))
    expect(error.code).toBe('proxy_unreachable')
    expect(error.message).toMatch(/could not be reached/)
  })

  it("waits as long as the proxy takes, and the caller's signal aborts the request", async () => {
    let hungUp = false
    // Never answers; notes when the client hangs up.
    handler = (_request, response) => void response.once('close', () => (hungUp = true))
    const controller = new AbortController()
    const call = remoteCore(baseUrl).generate({ prompt: 'slow' }, { signal: controller.signal })
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(hungUp).toBe(false)
    controller.abort(new Error('caller gave up'))
    await expect(call).rejects.toThrow('caller gave up')
    // The connection to the proxy is closed, so the proxy sees the cancellation.
    await expect.poll(() => hungUp).toBe(true)
  })
})
