/**
 * What the money did, recorded truly when an upstream answers in ways the sandbox itself never
 * does: a job ticket that already shows its settlement, a completed poll whose body breaks off
 * after settling, a requirement asking for a transfer method other than EIP-3009.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { decodePaymentSignatureHeader } from '@x402/core/http'
import { afterEach, describe, expect, it } from 'vitest'
import { resolveSettings } from '../server/config.js'
import { startProxy } from '../server/http/server.js'
import { readLedger } from '../server/payment/ledger.js'
import { stackThroughRelay, type RelayedStack } from './helpers/relay.js'
import { startStack } from './helpers/stack.js'

let cleanup: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const close of cleanup.reverse()) await close()
  cleanup = []
})

async function relayed(...args: Parameters<typeof stackThroughRelay>): Promise<RelayedStack> {
  const stack = await stackThroughRelay(...args)
  cleanup.push(() => stack.close())
  return stack
}

const nonceOf = (header: string) => (decodePaymentSignatureHeader(header) as unknown as { payload: { authorization: { nonce: string } } }).payload.authorization.nonce

describe('a job whose payment settled before it completed', () => {
  it('a ticket showing its settlement, then a poll answered 402: never signed again, one settlement, the error says it was charged', async () => {
    const nonces = new Set<string>()
    let required: string | undefined
    let refusedPolls = 0
    const { stack, generate } = await relayed(
      () => ({
        payment: async (header) => {
          nonces.add(nonceOf(header))
          return header
        },
        on402: (headers, paid) => {
          if (!paid) required = headers['payment-required']
          return headers
        },
        answer: (answer) => {
          if (answer.method === 'POST' && answer.paid && answer.status === 202) {
            const settlement = Buffer.from(JSON.stringify({ success: true, transaction: `0x${'ab'.repeat(32)}`, network: 'eip155:84532', payer: `0x${'00'.repeat(20)}` })).toString('base64')
            return { ...answer, headers: { ...answer.headers, 'payment-response': settlement } }
          }
          if (answer.method === 'GET' && answer.path.includes('/generations/') && refusedPolls++ === 0) {
            return { ...answer, status: 402, headers: { 'content-type': 'application/json', 'payment-required': required! }, body: Buffer.from('{"error":"authorization expired"}') }
          }
          return answer
        },
      }),
      { sandbox: { jobMs: 300 } },
    )
    const { status, body } = await generate({ model: 'gpt-image-2', prompt: 'ticket settled' })
    expect(status).toBe(502)
    expect(body.error.code).toBe('job_payment_refused')
    expect(body.error.message).toContain(`tx 0x${'ab'.repeat(32)}`)
    expect(nonces.size).toBe(1)
    const ledger = await readLedger(stack.home)
    expect(ledger.map((p) => p.status)).toEqual(['settled'])
  })

  it('a completed poll that settles and then breaks off mid-body is recorded as settled, never abandoned', async () => {
    const stack = await startStack({ sandbox: { jobMs: 200 } })
    cleanup.push(() => stack.close())
    // In front of the sandbox: a completed poll's answer (settlement header in hand) is cut in half.
    const server: Server = createServer(async (request, response) => {
      const chunks: Buffer[] = []
      for await (const chunk of request) chunks.push(chunk as Buffer)
      const headers = new Headers()
      for (const [name, value] of Object.entries(request.headers)) if (typeof value === 'string' && !['host', 'connection', 'content-length'].includes(name)) headers.set(name, value)
      const upstream = await fetch(`${stack.sandbox.origin}${request.url}`, { method: request.method, headers, ...(chunks.length ? { body: Buffer.concat(chunks) } : {}) })
      const out: Record<string, string> = {}
      upstream.headers.forEach((value, name) => {
        if (!['content-length', 'content-encoding', 'transfer-encoding', 'connection'].includes(name)) out[name] = value
      })
      const body = Buffer.from(await upstream.arrayBuffer())
      response.writeHead(upstream.status, out)
      if (request.method === 'GET' && upstream.status === 200 && out['payment-response']) {
        response.write(body.subarray(0, Math.floor(body.length / 2)))
        setTimeout(() => request.socket.destroy(), 50)
        return
      }
      response.end(body)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    cleanup.push(() => new Promise((resolve) => (server.closeAllConnections(), server.close(resolve))))
    const upstream = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`
    const proxy = await startProxy(resolveSettings({ home: stack.home, port: 0, upstream, rpcUrl: 'http://127.0.0.1:9', sepoliaRpcUrl: 'http://127.0.0.1:9', pollIntervalSeconds: 0.05 }))
    cleanup.push(() => proxy.close())
    const response = await fetch(`${proxy.url}/v1/images/generations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-image-2', prompt: 'cut' }) })
    expect(response.status).toBe(502)
    expect(stack.sandbox.usdc.transfers).toHaveLength(1)
    const ledger = await readLedger(stack.home)
    expect(ledger.map((p) => [p.status, p.transaction])).toEqual([['settled', stack.sandbox.usdc.transfers[0]!.transaction]])
  })
})

describe('the transfer method', () => {
  it('a requirement asking for a Permit2 transfer instead of EIP-3009 is refused before anything is signed', async () => {
    const presented: string[] = []
    const { stack, generate } = await relayed(() => ({
      payment: async (header) => {
        presented.push(header)
        return header
      },
      on402: (headers) => {
        const header = headers['payment-required']
        if (!header) return headers
        const required = JSON.parse(Buffer.from(header, 'base64').toString('utf8')) as { accepts: Array<{ extra?: object }> }
        for (const accept of required.accepts) accept.extra = { ...accept.extra, assetTransferMethod: 'permit2' }
        return { ...headers, 'payment-required': Buffer.from(JSON.stringify(required)).toString('base64') }
      },
    }))
    const { status, body } = await generate({ prompt: 'permit2' })
    expect(status).toBe(402)
    expect(body.error.type).toBe('payment_not_allowed')
    expect(body.error.message).toMatch(/asset transfer method "permit2" is not supported/)
    expect(presented).toEqual([])
    expect(await readLedger(stack.home)).toEqual([])
  })
})
