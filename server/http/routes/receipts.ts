/**
 * `GET /v1/receipts/{id}`: one result's receipt (request, payment joined with the ledger, files
 * with their SHA-256); `GET /v1/receipts?limit=&before=`: receipts newest first, a page at a time.
 */
import { Hono } from 'hono'
import { ImagegenError, invalidRequest } from '../../errors.js'
import type { ImageService } from '../../service.js'

export function receiptRoutes(service: ImageService): Hono {
  const routes = new Hono()
  routes.get('/v1/receipts', async (c) => {
    const limit = Number(c.req.query('limit') ?? 50)
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw invalidRequest('limit must be a whole number from 1 to 1000.', 'limit')
    return c.json({ object: 'list', ...(await service.receiptPage({ before: c.req.query('before'), limit })) })
  })
  routes.get('/v1/receipts/:id', async (c) => {
    const receipt = await service.receipt(c.req.param('id'))
    if (!receipt) throw new ImagegenError({ status: 404, type: 'not_found_error', code: 'receipt_not_found', message: `No receipt ${c.req.param('id')} in this proxy's index.` })
    return c.json(receipt)
  })
  return routes
}
