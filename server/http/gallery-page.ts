/**
 * The gallery page's files: plain HTML, CSS and JavaScript in the package's `gallery/` folder,
 * served as they are (no build step, nothing from the internet: the page works offline). The
 * folder is found by walking up from this module, which sits in the source tree, in tsc's dist/,
 * or in a bundle chunk; each is at most three folders below the package root.
 *
 * The page runs under a strict Content-Security-Policy: scripts and styles from this origin only,
 * no inline script or style, requests to this origin only, and no framing by any page
 * (`frame-ancestors 'none'`, and `X-Frame-Options` for older browsers), so a page elsewhere can
 * neither read it nor overlay it to steer clicks.
 */
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The page's files, and their types: nothing else in the folder is served. */
export const PAGE_FILES: Readonly<Record<string, string>> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'item.js': 'text/javascript; charset=utf-8',
  'viewer.js': 'text/javascript; charset=utf-8',
  'spend.js': 'text/javascript; charset=utf-8',
  'dom.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
  'icon.svg': 'image/svg+xml',
}

export const PAGE_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ')

/** Headers of every page file: no framing, no sniffing, no referrer, same-origin use only. */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': PAGE_POLICY,
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  // Revalidated each time (cheap, by ETag): an upgraded package serves its new page at once.
  'cache-control': 'no-cache',
}

export type PageFile = { body: Buffer; type: string; etag: string }

let folder: string | undefined
const cache = new Map<string, PageFile>()

/** The page's folder, or undefined when this install has none. */
export function pageFolder(): string | undefined {
  if (folder) return folder
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let up = 0; up <= 3; up++, dir = dirname(dir)) {
    if (existsSync(join(dir, 'gallery', 'index.html'))) return (folder = join(dir, 'gallery'))
  }
  return undefined
}

/** One of the page's files (read once, then kept), or undefined for any other name. */
export async function pageFile(name: string): Promise<PageFile | undefined> {
  if (!Object.hasOwn(PAGE_FILES, name)) return undefined
  const cached = cache.get(name)
  if (cached) return cached
  const dir = pageFolder()
  if (!dir) return undefined
  const body = await readFile(join(dir, name)).catch(() => undefined)
  if (!body) return undefined
  const file = { body, type: PAGE_FILES[name]!, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` }
  cache.set(name, file)
  return file
}
