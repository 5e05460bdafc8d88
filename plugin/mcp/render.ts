/**
 * ToolOutput → MCP CallToolResult, shaped to survive every client:
 * - a text block first with each image's path, URL, size, model and cost (Codex, Cline and some
 *   Copilot versions show no images at all);
 * - a `resource_link` per image pointing at the full-resolution file (file:// URI, MIME type), for
 *   clients on protocol 2025-06-18 or later (earlier ones reject a result that holds one);
 * - one downscaled preview `image` block per image, never the full-resolution base64 (Claude
 *   Desktop rejects results over 1 MB, Claude Code caps tool output at ~25k tokens); the images of
 *   one result share one preview budget, so four images weigh what one does;
 * - no `structuredContent`: Claude Code drops the content blocks when it is present.
 */
import { pathToFileURL } from 'node:url'
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js'
import { ImagegenError, toImagegenError } from '../../server/errors.js'
import { ImageLibraryUnavailable, MAX_PREVIEW_BASE64_CHARS, renderPreview, type PreviewSetting } from '../preview.js'
import type { ToolOutput } from '../tools.js'

type Content = CallToolResult['content'][number]

export type RenderOptions = {
  preview: PreviewSetting
  /** Whether the client's protocol version has `resource_link` blocks (see supportsResourceLinks). */
  resourceLinks: boolean
  /** Appended to the text when images were made (e.g. where the URLs are served). */
  note?: string | undefined
  log: (line: string) => void
}

/** The first protocol version with `resource_link` content blocks. */
const RESOURCE_LINKS_SINCE = '2025-06-18'

/** True when a client on `protocolVersion` (a date, YYYY-MM-DD) understands `resource_link` blocks; false when unknown. */
export function supportsResourceLinks(protocolVersion: string | undefined): boolean {
  return protocolVersion !== undefined && /^\d{4}-\d{2}-\d{2}$/.test(protocolVersion) && protocolVersion >= RESOURCE_LINKS_SINCE
}

export async function renderResult(output: ToolOutput, { preview, note, resourceLinks, log }: RenderOptions): Promise<CallToolResult> {
  let unavailable: ImageLibraryUnavailable | undefined
  const previews = await Promise.all(
    output.images.map(async (image) => {
      if (!preview.enabled) return undefined
      try {
        return await renderPreview(image.path, { maxEdge: preview.maxEdge, maxBase64Chars: Math.floor(MAX_PREVIEW_BASE64_CHARS / output.images.length) })
      } catch (error) {
        // The file and its link are what matter; a missing preview is only logged, unless no
        // preview can be made here at all, which the text says.
        if (error instanceof ImageLibraryUnavailable) unavailable = error
        log(`no preview for ${image.path}: ${error instanceof Error ? error.message : String(error)}`)
        return undefined
      }
    }),
  )
  const notes = [...(output.images.length > 0 && note ? [note] : []), ...(unavailable ? [unavailable.note] : [])]
  const text = [output.text, ...notes].join('\n')
  const content: Content[] = [{ type: 'text', text }]
  output.images.forEach((image, i) => {
    if (resourceLinks)
      content.push({
        type: 'resource_link',
        uri: pathToFileURL(image.path).href,
        name: image.file,
        title: `Image ${i + 1} (full resolution)`,
        description: `Full-resolution image at ${image.path}, also served at ${image.url}`,
        mimeType: image.mimeType,
        ...(image.bytes > 0 ? { size: image.bytes } : {}),
      })
    const shown = previews[i]
    if (shown) content.push({ type: 'image', data: shown.data, mimeType: shown.mimeType })
  })
  return { content }
}

/**
 * A failed call as a tool error (`isError: true`), so the model reads the message and can act on
 * it: the accepted sizes, how to fund the wallet, which limit refused a payment. The message is
 * the ImagegenError's, unchanged; internal errors are logged (stderr) and shown generically.
 */
export function errorResult(error: unknown, log: (line: string) => void): CallToolResult {
  const failure = toImagegenError(error)
  if (failure.type === 'server_error' && !(error instanceof ImagegenError)) log(`internal error: ${describe(error)}`)
  return { isError: true, content: [{ type: 'text', text: failure.message }] }
}

function describe(error: unknown): string {
  return error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error)
}
