/**
 * The core in this process: the ImageService with its wallet, ledger and store.
 */
import { DEFAULT_PORT, type Settings } from '../config.js'
import { ImageService } from '../service.js'
import { createInputResolver } from '../inputs/index.js'
import type { ImagegenCore } from './types.js'

export async function inProcessCore(settings: Settings, { why }: { why?: string } = {}): Promise<ImagegenCore & { service: ImageService }> {
  const service: ImageService = await ImageService.create(settings, {
    // Results carry the proxy's URL form; the file path is what matters when no proxy serves them.
    publicUrl: () => `http://127.0.0.1:${settings.port || DEFAULT_PORT}`,
    inputs: createInputResolver({ settings, store: () => service.store }),
  })
  return {
    mode: 'in-process',
    ...(why ? { why } : {}),
    service,
    generate: (input, options) => service.generate(input, options),
    edit: (input, options) => service.edit(input, options),
    quote: (input, options) => service.quote(input, options),
    receipt: (id) => service.receipt(id),
    receipts: (page) => service.receiptPage(page),
    models: () => service.models(),
    wallet: () => service.walletStatus(),
    usage: (days) => service.usage(days),
    close: () => service.close(),
  }
}
