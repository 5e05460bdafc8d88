/**
 * A hostile upstream answering with huge non-image bodies (402s, errors, job tickets) must not make
 * the proxy buffer them: they are read with a bound and refused.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { resolveSettings } from '../server/config.js'
import { startProxy, type RunningProxy } from '../server/http/server.js'
import { tempHome } from './helpers/stack.js'

const HUGE = 32 * 1024 * 1024

describe('huge non-image bodies from the upstream', () => {
  let upstream: Server
  let proxy: RunningProxy
  let bytesSent = 0
  let hungUpAt: number | undefined
  beforeAll(async () => {
    upstream = createServer((req, res) => {
      req.resume()
      const status = req.headers['x-test'] ?? (/500/.test(req.url ?? '') ? '500' : '402')
      res.writeHead(Number(status), { 'content-type': 'application/json' })
      // Stream megabytes of one JSON string; stop early if the proxy hangs up.
      res.write('{"error":"')
      const chunk = 'x'.repeat(64 * 1024)
      const pump = () => {
        while (bytesSent < HUGE) {
          bytesSent += chunk.length
          if (!res.write(chunk)) return void res.once('drain', pump)
        }
        res.end('"}')
      }
      res.on('close', () => {
        if (bytesSent < HUGE) hungUpAt = bytesSent
        bytesSent = HUGE
      })
      pump()
    })
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
    const home = await tempHome()
    proxy = await startProxy(resolveSettings({ home, port: 0, upstream: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`, rpcUrl: 'http://127.0.0.1:9' }))
  })
  afterAll(async () => {
    await proxy.close()
    await new Promise<void>((resolve) => upstream.close(() => resolve()))
  })

  it('a 402 with a 32 MB body and no readable requirements is a 502, nothing signed', async () => {
    const response = await fetch(`${proxy.url}/v1/images/generations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'x' }) })
    const body = await response.json()
    expect(response.status).toBe(502)
    expect(body.error.code).toBe('malformed_payment_required')
    // The proxy stopped reading near the bound and hung up, long before the 32 MB were sent (socket buffers hold a few MB).
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(hungUpAt).toBeDefined()
    expect(hungUpAt!).toBeLessThan(8 * 1024 * 1024)
  })
})
