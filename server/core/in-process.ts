/**
 * The core in this process: the ImageService with its wallet, ledger and store.
 *
 * Its results carry the URL form `imagegen serve` on the configured port will serve them at; when
 * no proxy of ours can serve there (port 0, or another program holds the port), they carry the
 * file's own `file://` URL instead, never a URL on a port that is not ours.
 */
import { pathToFileURL } from 'node:url'
import type { Settings } from '../config.js'
import { ImageService } from '../service.js'
import { createInputResolver } from '../inputs/index.js'
import type { ImagegenCore } from './types.js'

export async function inProcessCore(settings: Settings, { why, portTaken = false }: { why?: string; portTaken?: boolean } = {}): Promise<ImagegenCore & { service: ImageService }> {
  const served = settings.port !== 0 && !portTaken
  const publicUrl = served ? `http://127.0.0.1:${settings.port}` : pathToFileURL(settings.home).href
  const service: ImageService = await ImageService.create(settings, {
    publicUrl: () => publicUrl,
    inputs: createInputResolver({ settings, store: () => service.store }),
  })
  return {
    mode: 'in-process',
    ...(why ? { why } : {}),
    filesOnly: !served,
    service,
    generate: (input, options) => service.generate(input, options),
    edit: (input, options) => service.edit(input, options),
    quote: (input, options) => service.quote(input, options),
    receipt: (id) => service.receipt(id),
    receipts: (page) => service.receiptPage(page),
    gallery: (query) => service.gallery(query),
    galleryItem: (file) => service.galleryItem(file),
    models: () => service.models(),
    wallet: () => service.walletStatus(),
    usage: (days) => service.usage(days),
    close: () => service.close(),
  }
}
