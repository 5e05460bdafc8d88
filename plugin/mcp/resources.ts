/**
 * The gallery for agents, as MCP resources: `resources/list` pages through the images the proxy
 * stored, newest first (the same list as the gallery page, server/gallery/), and each is readable:
 * `imagegen://images/<file>` gives the picture itself and, for an image of ours, its receipt as
 * JSON (prompt, model, size, cost, transaction, file path and hash); `imagegen://receipts/<id>`
 * gives a receipt alone.
 *
 * The bytes are read from this server's own home, by the store's strict names, never from a path
 * a proxy answered with: whichever core lists them (in-process, or a proxy that proved it holds
 * our token), the images folder is the same.
 *
 * @see https://modelcontextprotocol.io/specification/2025-11-25/server/resources
 */
import { readFile, stat } from 'node:fs/promises'
import type { ImagegenCore } from '../../server/core/index.js'
import { isStoredName } from '../../server/gallery/index.js'
import type { GalleryItem } from '../../server/gallery/view.js'
import { ImageStore } from '../../server/store/images.js'
import { ErrorCode, McpError, type ListResourcesResult, type ListResourceTemplatesResult, type ReadResourceResult, type Resource } from '../mcp-sdk.js'

export const IMAGE_URI = 'imagegen://images/'
export const RECEIPT_URI = 'imagegen://receipts/'
const PAGE = 50
/** Larger images are not sent inline (base64 in one JSON-RPC message): the answer names the file instead. */
export const MAX_INLINE_BYTES = 20 * 1024 * 1024
/** The spec's code for a resource that does not exist. */
const RESOURCE_NOT_FOUND = -32002

export const RESOURCE_TEMPLATES: ListResourceTemplatesResult = {
  resourceTemplates: [
    { uriTemplate: `${IMAGE_URI}{file}`, name: 'image', title: 'An image made with imagegen', description: 'A stored image (PNG, JPEG or WebP) and, for one made here, its receipt as JSON: prompt, model, size, cost, transaction.' },
    { uriTemplate: `${RECEIPT_URI}{id}`, name: 'receipt', title: 'A receipt', description: 'What a request made and paid, as JSON: the request, the payment joined with the ledger, the files with their SHA-256.', mimeType: 'application/json' },
  ],
}

/** A page of images, newest first; the cursor is the last file name of the previous page. */
export async function listResources(core: ImagegenCore, cursor: string | undefined): Promise<ListResourcesResult> {
  if (cursor !== undefined && !isStoredName(cursor)) throw new McpError(ErrorCode.InvalidParams, 'Unknown cursor: pass the nextCursor of the previous page.')
  const page = await core.gallery({ limit: PAGE, before: cursor })
  return { resources: page.data.map(asResource), ...(page.next ? { nextCursor: page.next } : {}) }
}

export async function readResource(core: ImagegenCore, home: string, uri: string): Promise<ReadResourceResult> {
  if (uri.startsWith(RECEIPT_URI)) {
    const id = decodedPart(uri.slice(RECEIPT_URI.length))
    const receipt = id === undefined ? undefined : await core.receipt(id)
    if (!receipt) throw new McpError(RESOURCE_NOT_FOUND, `No receipt at ${uri}.`, { uri })
    return { contents: [{ uri, mimeType: 'application/json', text: JSON.stringify(receipt, null, 2) }] }
  }
  const file = uri.startsWith(IMAGE_URI) ? decodedPart(uri.slice(IMAGE_URI.length)) : undefined
  const found = file !== undefined && isStoredName(file) ? await new ImageStore(home).findImage(file) : undefined
  if (!found || file === undefined) throw new McpError(RESOURCE_NOT_FOUND, `No image at ${uri}: resources/list names the images there are.`, { uri })
  const detail = await core.galleryItem(file)
  const { size } = await stat(found.path)
  const contents: ReadResourceResult['contents'] = []
  if (size <= MAX_INLINE_BYTES) contents.push({ uri, mimeType: found.type.mime, blob: (await readFile(found.path)).toString('base64') })
  else contents.push({ uri, mimeType: 'text/plain', text: `This image is ${(size / 1e6).toFixed(1)} MB, too large to send here; it is at ${found.path}.` })
  if (detail?.receipt) contents.push({ uri: `${RECEIPT_URI}${detail.receipt}`, mimeType: 'application/json', text: JSON.stringify(detail, null, 2) })
  return { contents }
}

function asResource(item: GalleryItem): Resource {
  const elsewhere = item.source === 'clawrouter' ? 'made elsewhere (ClawRouter)' : 'made elsewhere (not in this index)'
  const paid = item.cost ? `${item.cost.usd} on ${item.cost.network_label}${item.cost.status === 'settled' ? '' : ` (${item.cost.status})`}` : 'not paid'
  return {
    uri: `${IMAGE_URI}${item.file}`,
    name: item.file,
    title: item.prompt ? clip(item.prompt, 80) : elsewhere,
    description: item.source === 'ours' ? `${item.model} ${item.size}, ${paid}, ${item.created}${item.receipt ? `, receipt ${item.receipt}` : ''}` : `${elsewhere}, ${item.created}`,
    mimeType: item.mime_type,
    ...(item.bytes !== null ? { size: item.bytes } : {}),
    annotations: { audience: ['user', 'assistant'], lastModified: item.created },
  }
}

/** A URI's last part, unescaped; undefined when the escapes are malformed (no such resource, not a server error). */
function decodedPart(part: string): string | undefined {
  try {
    return decodeURIComponent(part)
  } catch {
    return undefined
  }
}

function clip(text: string, length: number): string {
  const line = text.replace(/\s+/g, ' ').trim()
  return line.length > length ? `${line.slice(0, length - 1)}…` : line
}
