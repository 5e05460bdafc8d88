/**
 * Read-only routes: `/health`, `/v1/models`, `/v1/wallet`, `/v1/usage`.
 */
import { Hono } from 'hono'
import { invalidRequest } from '../../errors.js'
import type { ImageService } from '../../service.js'
import { VERSION } from '../../version.js'

/**
 * Names this proxy to whatever probes the port. A name is no proof (anyone can answer with it):
 * our own front doors check `/v1/identity` (routes/auth.ts) before using a proxy.
 */
export const SERVICE_NAME = 'blockrun-imagegen'

export function infoRoutes(service: ImageService): Hono {
  const routes = new Hono()
  // Public (caller-auth lets anyone ask), so it says nothing about the wallet or the upstream. And
  // never `{"status":"ok","wallet":…}`: BlockRun's ClawRouter takes any /health answering that on
  // its port for one of its own proxies and sends its chat traffic there (REFERENCE.md §1,
  // ClawRouter src/proxy.ts checkExistingProxy).
  routes.get('/health', (c) => c.json({ service: SERVICE_NAME, ready: true, version: VERSION }))
  // The image models only, from the live catalog when it could be read (the body says which source and when).
  routes.get('/v1/models', async (c) => c.json(await service.models()))
  routes.get('/v1/wallet', async (c) => c.json(await service.walletStatus()))
  routes.get('/v1/usage', async (c) => {
    const days = Number(c.req.query('days') ?? 30)
    if (!Number.isInteger(days) || days < 1 || days > 3650) throw invalidRequest('days must be a whole number from 1 to 3650.', 'days')
    return c.json(await service.usage(days))
  })
  return routes
}
