/**
 * A relay between the proxy and the sandbox, for tests of what the proxy does when an upstream
 * says what the sandbox never would: it can rewrite the payment header of paid requests and the
 * headers of 402 answers, answer a request itself, and show a test what the proxy sent. Everything
 * else passes through untouched.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { resolveSettings } from '../../server/config.js'
import { startProxy } from '../../server/http/server.js'
import { startStack, type Stack } from './stack.js'

export type RelayHooks = {
  /** Rewrites the `payment-signature` header of a paid request. */
  payment?: (header: string) => Promise<string>
  /** Rewrites the headers (lower-case names) of a 402 answer; `paid` says whether its request carried a payment. */
  on402?: (headers: Record<string, string>, paid: boolean) => Record<string, string>
  /** Sees every request the proxy sends upstream (method, path with query, body). */
  observe?: (request: { method: string; path: string; body: Buffer }) => void
  /** Answers a request in the upstream's place when it returns a status and body. */
  intercept?: (request: { method: string; path: string }) => { status: number; body: string } | undefined
}

export type Relay = { url: string; close(): Promise<void> }

export async function startRelay(target: string, { payment, on402, observe, intercept }: RelayHooks): Promise<Relay> {
  const server: Server = createServer(async (request, response) => {
    const chunks: Buffer[] = []
    for await (const chunk of request) chunks.push(chunk as Buffer)
    const seen = { method: request.method ?? 'GET', path: request.url ?? '/' }
    observe?.({ ...seen, body: Buffer.concat(chunks) })
    const answer = intercept?.(seen)
    if (answer) {
      response.writeHead(answer.status, { 'content-type': 'application/json' })
      response.end(answer.body)
      return
    }
    const headers = new Headers()
    for (const [name, value] of Object.entries(request.headers)) if (typeof value === 'string' && !['host', 'connection', 'content-length'].includes(name)) headers.set(name, value)
    const signature = headers.get('payment-signature')
    if (signature && payment) headers.set('payment-signature', await payment(signature))
    const paid = signature !== null || headers.has('x-payment')
    const upstream = await fetch(`${target}${request.url}`, { method: request.method, headers, ...(chunks.length ? { body: Buffer.concat(chunks) } : {}) })
    let out: Record<string, string> = {}
    upstream.headers.forEach((value, name) => {
      if (!['content-length', 'content-encoding', 'transfer-encoding', 'connection'].includes(name)) out[name] = value
    })
    if (upstream.status === 402 && on402) out = on402(out, paid)
    response.writeHead(upstream.status, out)
    response.end(Buffer.from(await upstream.arrayBuffer()))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

export type RelayedStack = {
  stack: Stack
  /** POSTs a generation to the proxy in front of the relay. */
  generate(body: Record<string, unknown>): Promise<{ status: number; body: any }>
  /** GETs a path of the proxy in front of the relay, as JSON. */
  get(path: string): Promise<{ status: number; body: any }>
  close(): Promise<void>
}

/** A funded stack whose proxy reaches the sandbox through a relay with `hooks` (given the stack, for its wallet). */
export async function stackThroughRelay(hooks: (stack: Stack) => RelayHooks): Promise<RelayedStack> {
  const stack = await startStack()
  const relay = await startRelay(stack.sandbox.url, hooks(stack))
  // The relay is the upstream, but hosted results stay on the sandbox's own (loopback) origin.
  const proxy = await startProxy(resolveSettings({ home: stack.home, port: 0, upstream: relay.url, allowPrivateUrls: true, rpcUrl: 'http://127.0.0.1:9', sepoliaRpcUrl: 'http://127.0.0.1:9' }))
  return {
    stack,
    async generate(body) {
      const response = await fetch(`${proxy.url}/v1/images/generations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
      return { status: response.status, body: await response.json() }
    },
    async get(path) {
      const response = await fetch(`${proxy.url}${path}`)
      return { status: response.status, body: await response.json() }
    },
    async close() {
      await proxy.close()
      await relay.close()
      await stack.close()
    },
  }
}
