/**
 * A hostile upstream cannot fill the disk (issue #16, item 4): an answer, paid or not, stores at
 * most the `n` images asked for, each one whole and under the cap.
 */
import { createServer, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { resolveSettings } from '../server/config.js'
import { startProxy, type RunningProxy } from '../server/http/server.js'
import { makeImage } from './helpers/images.js'
import { readJsonResponse, tempHome } from './helpers/stack.js'

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])

let upstream: Server | undefined
let proxy: RunningProxy | undefined
afterEach(async () => {
  await proxy?.close()
  upstream?.closeAllConnections()
  await new Promise((resolve) => (upstream ? upstream.close(resolve) : resolve(undefined)))
  upstream = proxy = undefined
})

/** An upstream that answers every image request, unpaid, with whatever `answer` writes. */
async function hostile(answer: (response: ServerResponse) => Promise<void> | void): Promise<{ home: string; generate: (body: object) => Promise<{ status: number; body: any }> }> {
  upstream = createServer((request, response) => {
    request.resume()
    request.once('end', () => void answer(response))
  })
  await new Promise<void>((resolve) => upstream!.listen(0, '127.0.0.1', resolve))
  const home = await tempHome()
  proxy = await startProxy(resolveSettings({ home, port: 0, upstream: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/api`, rpcUrl: 'http://127.0.0.1:9', sepoliaRpcUrl: 'http://127.0.0.1:9' }))
  const url = proxy.url
  return {
    home,
    generate: async (body) => readJsonResponse(await fetch(`${url}/v1/images/generations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })),
  }
}

const stored = async (home: string) => (await readdir(join(home, 'images')).catch(() => [] as string[])).sort()

describe('an answer stores at most what was asked for', () => {
  it('2,000 entries for one image asked: one file, the first', async () => {
    const png = (await makeImage(16, 16)).toString('base64')
    const { home, generate } = await hostile((response) => {
      response.writeHead(200, { 'content-type': 'application/json' })
      response.end(JSON.stringify({ data: Array.from({ length: 2000 }, () => ({ b64_json: png })) }))
    })
    const { status, body } = await generate({ prompt: 'one, please' })
    expect(status, JSON.stringify(body)).toBe(200)
    expect(body.data).toHaveLength(1)
    expect(await stored(home)).toHaveLength(1)
  })

  it('a PNG signature followed by junk is not an image: nothing stored', async () => {
    const junk = Buffer.concat([PNG_SIGNATURE, Buffer.alloc(1024 * 1024, 7)]).toString('base64')
    const { home, generate } = await hostile((response) => {
      response.writeHead(200, { 'content-type': 'application/json' })
      response.end(JSON.stringify({ data: Array.from({ length: 8 }, () => ({ b64_json: junk })) }))
    })
    const { status, body } = await generate({ prompt: 'junk' })
    expect(status).toBe(502)
    expect(body.error.code).toBe('image_not_whole')
    expect(await stored(home)).toEqual([])
  })

  it('one image larger than the cap stops the answer while it streams: nothing stored', async () => {
    const { home, generate } = await hostile(async (response) => {
      response.writeHead(200, { 'content-type': 'application/json' })
      response.write(`{"data":[{"b64_json":"${PNG_SIGNATURE.toString('base64')}`)
      // 110 MB of image data (base64 'A' decodes to zero bytes), streamed in 1 MiB pieces.
      const piece = 'A'.repeat(1024 * 1024)
      for (let sent = 0; sent < 147 && !response.destroyed; sent++) {
        if (!response.write(piece)) await new Promise((resolve) => response.once('drain', resolve))
      }
      response.end('"}]}')
    })
    const { status, body } = await generate({ prompt: 'huge' })
    expect(status).toBe(502)
    expect(body.error.code).toMatch(/too_large|result_too_large/)
    expect(await stored(home)).toEqual([])
  })

  it('extra entries are not stored, and cannot be streamed without end either', async () => {
    // One small image asked for and sent first, then 7 entries of 32 MiB each: those are never
    // written, but the answer as a whole may not read more than twice one image's cap.
    const png = (await makeImage(16, 16)).toString('base64')
    const { home, generate } = await hostile(async (response) => {
      response.writeHead(200, { 'content-type': 'application/json' })
      response.write(`{"data":[{"b64_json":"${png}"}`)
      const piece = 'A'.repeat(1024 * 1024)
      for (let entry = 0; entry < 7 && !response.destroyed; entry++) {
        response.write(`,{"b64_json":"${PNG_SIGNATURE.toString('base64')}`)
        for (let sent = 0; sent < 43 && !response.destroyed; sent++) {
          if (!response.write(piece)) await new Promise((resolve) => response.once('drain', resolve))
        }
        response.write('"}')
      }
      response.end(']}')
    })
    const { status, body } = await generate({ prompt: 'many' })
    expect(status).toBe(502)
    expect(body.error.code).toBe('result_too_large')
    expect(await stored(home)).toEqual([])
  })
})
