/**
 * Read-only routes: `/health`, `/v1/models`, `/v1/wallet`, `/v1/usage`.
 */
import { Hono } from 'hono'
import { invalidRequest } from '../../errors.js'
import type { ImageService } from '../../service.js'
import { VERSION } from '../../version.js'

/** Identifies this proxy to other processes probing the port (the MCP server, the OpenClaw service). */
export const SERVICE_NAME = 'blockrun-imagegen'

export function infoRoutes(service: ImageService): Hono {
  const routes = new Hono()
  routes.get('/health', (c) =>
    c.json({
      status: 'ok',
      service: SERVICE_NAME,
      version: VERSION,
      wallet: service.wallet.address,
      upstream: service.settings.upstream,
    }),
  )
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
