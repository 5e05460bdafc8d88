/**
 * The proxy's own image URLs (`http://127.0.0.1:<port>/images/<file>`, or `localhost`), as handed
 * out in earlier results, are read straight from the image store: no socket is opened, so they
 * work without allowPrivateUrls, and only names the store itself wrote can be read this way.
 */
import { readFile } from 'node:fs/promises'
import { isLoopbackHost } from '../http/middleware/local-only/index.js'
import type { ImageStore } from '../store/images.js'
import { displayUrl, refuseInput, type InputField } from './refusal.js'

const IMAGES_PATH = '/images/'

/**
 * The stored file name when `url` points at this proxy's `/images/` (same port, a loopback host
 * or the proxy's own host name); undefined for any other URL, which is then downloaded as usual.
 */
export function ownImageName(url: URL, ownBaseUrl: string | undefined): string | undefined {
  if (!ownBaseUrl || !URL.canParse(ownBaseUrl)) return undefined
  const own = new URL(ownBaseUrl)
  if (url.protocol !== own.protocol || portOf(url) !== portOf(own)) return undefined
  if (!isLoopbackHost(url.hostname) && url.hostname !== own.hostname) return undefined
  if (!url.pathname.startsWith(IMAGES_PATH)) return undefined
  const name = url.pathname.slice(IMAGES_PATH.length)
  try {
    return decodeURIComponent(name)
  } catch {
    return name
  }
}

export async function readOwnImage(field: InputField, url: URL, name: string, store: ImageStore): Promise<Buffer> {
  const path = await store.find(name)
  if (!path) throw refuseInput(field, `${displayUrl(url)} is not an image in this proxy's store (${store.dir}).`, 'image_not_found')
  return readFile(path).catch(() => {
    throw refuseInput(field, `${displayUrl(url)} could not be read from the image store.`, 'input_unreadable')
  })
}

function portOf(url: URL): string {
  return url.port || (url.protocol === 'https:' ? '443' : '80')
}
