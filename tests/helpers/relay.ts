/**
 * A relay between the proxy and the sandbox, for tests of what the proxy does when an upstream
 * says what the sandbox never would: it can rewrite the payment header of paid requests, the
 * headers of 402 answers, and any answer whole (status, headers, body), or drop the connection
 * instead of answering; and it shows a test what the proxy sent. Everything else passes through
 * untouched.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { resolveSettings, type SettingsInput } from '../../server/config.js'
import { startProxy } from '../../server/http/server.js'
import { startStack, type Stack, type StackOptions } from './stack.js'

export type RelayHooks = {
  /** Rewrites the `payment-signature` header of a paid request. */
  payment?: (header: string) => Promise<string>
  /** Rewrites the headers (lower-case names) of a 402 answer; `paid` says whether its request carried a payment. */
  on402?: (headers: Record<string, string>, paid: boolean) => Record<string, string>
  /** Rewrites any answer; 'drop' closes the connection without one. Runs after `on402`. */
  answer?: (answer: RelayedAnswer) => RelayedAnswer | 'drop' | Promise<RelayedAnswer | 'drop'>
  /** Sees every request the proxy sends upstream (method, path with query, body). */
  observe?: (request: { method: string; path: string; body: Buffer }) => void
}

export type RelayedAnswer = { method: string; path: string; paid: boolean; status: number; headers: Record<string, string>; body: Buffer }

export type Relay = { url: string; close(): Promise<void> }

export async function startRelay(target: string, { payment, on402, answer, observe }: RelayHooks): Promise<Relay> {
  const server: Server = createServer(async (request, response) => {
    const chunks: Buffer[] = []
    for await (const chunk of request) chunks.push(chunk as Buffer)
    observe?.({ method: request.method ?? 'GET', path: request.url ?? '/', body: Buffer.concat(chunks) })
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
    let relayed: RelayedAnswer | 'drop' = { method: request.method ?? 'GET', path: request.url ?? '/', paid, status: upstream.status, headers: out, body: Buffer.from(await upstream.arrayBuffer()) }
    if (answer) relayed = await answer(relayed)
    if (relayed === 'drop') return void request.socket.destroy()
    response.writeHead(relayed.status, relayed.headers)
    response.end(relayed.body)
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
  /** The proxy in front of the relay. */
  url: string
  /** POSTs a generation to the proxy in front of the relay. */
  generate(body: Record<string, unknown>, init?: { signal?: AbortSignal }): Promise<{ status: number; body: any }>
  /** GETs a path of the proxy in front of the relay, as JSON. */
  get(path: string): Promise<{ status: number; body: any }>
  close(): Promise<void>
}

/** A funded stack whose proxy reaches the sandbox through a relay with `hooks` (given the stack, for its wallet). */
export async function stackThroughRelay(hooks: (stack: Stack) => RelayHooks, options: StackOptions = {}, proxySettings: (stack: Stack) => SettingsInput = () => ({})): Promise<RelayedStack> {
  const stack = await startStack(options)
  // The relay stands for the sandbox's whole origin, so job poll_urls (paths on the API's origin) pass it too.
  const relay = await startRelay(stack.sandbox.origin, hooks(stack))
  // The relay is the upstream, but hosted results stay on the sandbox's own (loopback) origin.
  const proxy = await startProxy(
    resolveSettings({ home: stack.home, port: 0, upstream: `${relay.url}/api`, allowPrivateUrls: true, rpcUrl: 'http://127.0.0.1:9', sepoliaRpcUrl: 'http://127.0.0.1:9', pollIntervalSeconds: 0.05, ...options.settings, ...proxySettings(stack) }),
  )
  return {
    stack,
    url: proxy.url,
    async generate(body, init = {}) {
      const response = await fetch(`${proxy.url}/v1/images/generations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), ...init })
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
