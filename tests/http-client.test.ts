/**
 * The upstream HTTP client against real local servers: what it must keep from fetch (decoded
 * bodies, pooled connections, cancellation, fetch-shaped errors) and what it must not do (follow
 * a redirect with a payment header).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createTcpServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { gzipSync, brotliCompressSync } from 'node:zlib'
import { afterEach, describe, expect, it } from 'vitest'
import { upstreamFetch } from '../server/upstream/http-client.js'

const servers: Server[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise<void>((resolve) => server.close(() => resolve()))))
})

async function serve(handler: (request: IncomingMessage, response: ServerResponse) => void): Promise<{ url: string; connections: () => number }> {
  const server = createServer(handler)
  let connections = 0
  server.on('connection', () => connections++)
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, connections: () => connections }
}

describe('the upstream HTTP client', () => {
  it('never follows a redirect: a paid request reaches only the URL it was sent to', async () => {
    const elsewhere: Array<string | undefined> = []
    const other = await serve((request, response) => {
      elsewhere.push(request.headers['payment-signature'] as string | undefined)
      response.end('{}')
    })
    const upstream = await serve((_request, response) => {
      response.writeHead(307, { location: `${other.url}/v1/images/generations` })
      response.end()
    })
    const response = await upstreamFetch(`${upstream.url}/v1/images/generations`, { method: 'POST', headers: { 'payment-signature': 'signed' }, body: '{"prompt":"x"}' })
    expect(response.status).toBe(307)
    await response.body?.cancel()
    expect(elsewhere).toEqual([])
  })

  it('sends the body with its length and decodes gzip and br answers', async () => {
    const bodies: string[] = []
    const upstream = await serve((request, response) => {
      let text = ''
      request.on('data', (chunk) => (text += chunk))
      request.on('end', () => {
        bodies.push(`${request.headers['content-length']} ${text}`)
        const encoding = request.url === '/br' ? 'br' : 'gzip'
        const payload = JSON.stringify({ data: [{ b64_json: 'A'.repeat(10_000) }] })
        response.writeHead(200, { 'content-type': 'application/json', 'content-encoding': encoding })
        response.end(encoding === 'br' ? brotliCompressSync(payload) : gzipSync(payload))
      })
    })
    for (const path of ['/gzip', '/br']) {
      const response = await upstreamFetch(`${upstream.url}${path}`, { method: 'POST', body: '{"é":1}' })
      expect(response.headers.get('content-encoding')).toBeNull()
      expect(((await response.json()) as { data: Array<{ b64_json: string }> }).data[0]!.b64_json).toHaveLength(10_000)
    }
    expect(bodies).toEqual(['8 {"é":1}', '8 {"é":1}'])
  })

  it('reuses one pooled connection for sequential requests', async () => {
    const upstream = await serve((_request, response) => response.end('ok'))
    for (let i = 0; i < 5; i++) expect(await (await upstreamFetch(upstream.url)).text()).toBe('ok')
    expect(upstream.connections()).toBe(1)
  })

  it('fails the body, not silently, when the connection drops before Content-Length is reached', async () => {
    const upstream = await serve((request, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': '100000' })
      response.write('{"data":[{"b64_json":"AAAA')
      setTimeout(() => request.socket.destroy(), 20)
    })
    const response = await upstreamFetch(upstream.url)
    await expect(response.text()).rejects.toThrow()
  })

  it('throws fetch-shaped errors: a refused connection carries its code in cause', async () => {
    const upstream = await serve((_request, response) => response.end())
    const port = new URL(upstream.url).port
    await new Promise<void>((resolve) => servers.pop()!.close(() => resolve()))
    const error = (await upstreamFetch(`http://127.0.0.1:${port}/`).catch((caught: unknown) => caught)) as TypeError & { cause?: { code?: string } }
    expect(error).toBeInstanceOf(TypeError)
    expect(error.cause?.code).toBe('ECONNREFUSED')
  })

  it('stops at once when the signal fires, before or during the body', async () => {
    const upstream = await serve((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' })
      response.write('{"data":[')
      // never ends
    })
    const early = new AbortController()
    early.abort(new Error('cancelled early'))
    await expect(upstreamFetch(upstream.url, { signal: early.signal })).rejects.toThrow('cancelled early')
    const late = new AbortController()
    const response = await upstreamFetch(upstream.url, { signal: late.signal })
    const reading = response.text()
    setTimeout(() => late.abort(new Error('cancelled late')), 20)
    const started = Date.now()
    await expect(reading).rejects.toThrow()
    expect(Date.now() - started).toBeLessThan(2000)
  })

  it('turns a status line no Response can hold into an error, and drops a reason phrase it would refuse', async () => {
    const answers = ['HTTP/1.1 600 Odd', 'HTTP/1.1 200 O\x01K']
    const tcp = createTcpServer((socket) => socket.once('data', () => socket.end(Buffer.from(`${answers.shift()!.replace('\\x01', '\x01')}\r\ncontent-length: 2\r\n\r\nok`, 'latin1'))))
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve))
    const url = `http://127.0.0.1:${(tcp.address() as AddressInfo).port}/`
    try {
      const error = (await upstreamFetch(url).catch((caught: unknown) => caught)) as TypeError & { cause?: Error }
      expect(error).toBeInstanceOf(TypeError)
      expect(error.cause?.message).toMatch(/status 600/)
      const response = await upstreamFetch(url)
      expect([response.status, response.statusText, await response.text()]).toEqual([200, '', 'ok'])
    } finally {
      await new Promise<void>((resolve) => tcp.close(() => resolve()))
    }
  })
})
