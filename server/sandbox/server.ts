/**
 * Starts the sandbox upstream on a loopback port.
 */
import type { AddressInfo } from 'node:net'
import { serve, type ServerType } from '@hono/node-server'
import { createSandbox, type SandboxOptions } from './app.js'

export type RunningSandbox = ReturnType<typeof createSandbox> & {
  /** The API base URL, as https://blockrun.ai/api is the gateway's: what BLOCKRUN_API_URL takes. */
  url: string
  /** The server's origin (http://127.0.0.1:<port>). */
  origin: string
  /** Its JSON-RPC endpoint for the sandbox chain (balances, authorization states): what BASE_RPC_URL takes. */
  rpcUrl: string
  port: number
  close(): Promise<void>
}

export async function startSandbox(options: SandboxOptions & { port?: number; host?: string } = {}): Promise<RunningSandbox> {
  const sandbox = createSandbox(options)
  const host = options.host ?? '127.0.0.1'
  const server: ServerType = await new Promise((resolve, reject) => {
    const s = serve({ fetch: sandbox.app.fetch, hostname: host, port: options.port ?? 0 }, () => resolve(s))
    s.once('error', reject)
  })
  const port = (server.address() as AddressInfo).port
  return {
    ...sandbox,
    url: `http://${host}:${port}/api`,
    origin: `http://${host}:${port}`,
    rpcUrl: `http://${host}:${port}/rpc`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        ;(server as { closeAllConnections?: () => void }).closeAllConnections?.()
      }),
  }
}
