/**
 * Starts the proxy: builds the service, binds the Hono app to host:port, and stops cleanly.
 */
import type { AddressInfo } from 'node:net'
import { serve, type ServerType } from '@hono/node-server'
import { decideAuthMode, type AuthDecision } from '../auth/mode.js'
import { ensureConsentKey, ensureToken, tokenPath } from '../auth/token.js'
import type { Settings } from '../config.js'
import { ImageService } from '../service.js'
import { createProxyApp } from './app.js'
import { createInputResolver } from '../inputs/index.js'

export type RunningProxy = {
  url: string
  port: number
  service: ImageService
  /** Who may call, and where the token is (never the token itself: it is not for logs). */
  auth: AuthDecision & { tokenFile: string }
  /**
   * Stops accepting connections, lets requests in flight finish for up to `graceMs` (default
   * 30 s; a paid generation should not be cut off), then closes what is left and the ledger.
   */
  close(options?: { graceMs?: number }): Promise<void>
}

export type StartProxyOptions = { log?: (line: string) => void }

/** How long after start the proxy reads its indexes (late enough to keep start-up and /health quick). */
const WARM_AFTER_MS = 1000

export async function startProxy(settings: Settings, { log }: StartProxyOptions = {}): Promise<RunningProxy> {
  let port = settings.port
  const host = settings.host
  const urlHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host
  const publicUrl = () => `http://${urlHost}:${port}`
  // The token is needed in every mode: it keys the identity proof our front doors check.
  const [decision, token, consentKey] = await Promise.all([decideAuthMode(settings), ensureToken(settings.home), ensureConsentKey(settings.home)])
  const service: ImageService = await ImageService.create(settings, {
    publicUrl,
    inputs: createInputResolver({ settings, store: () => service.store }),
  })
  const app = createProxyApp({ service, port: () => port, publicUrl, auth: { mode: decision.mode, token, consentKey }, ...(log ? { log } : {}) })
  const server: ServerType = await new Promise((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: host, port }, () => resolve(s))
    s.once('error', reject)
  })
  port = (server.address() as AddressInfo).port
  // The gallery's index and the ledger are read whole once per process: read them a moment after
  // start, off every request's path, so neither the gallery's first page nor the first payment waits.
  const warm = setTimeout(() => void service.gallery({ limit: 1 }).catch(() => {}), WARM_AFTER_MS)
  warm.unref()
  return {
    url: `http://${urlHost}:${port}`,
    port,
    service,
    auth: { ...decision, tokenFile: tokenPath(settings.home) },
    async close({ graceMs = 30_000 } = {}) {
      clearTimeout(warm)
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      const http = server as ServerType & { closeIdleConnections?: () => void; closeAllConnections?: () => void }
      http.closeIdleConnections?.()
      const cutoff = setTimeout(() => http.closeAllConnections?.(), graceMs)
      await closed
      clearTimeout(cutoff)
      await service.close()
    },
  }
}
