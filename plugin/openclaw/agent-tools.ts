/**
 * The shared tool definitions (plugin/tools.ts, also served by the MCP server) as OpenClaw agent
 * tools. OpenClaw shows `content` to the model: the text (file paths, URLs, cost) always, plus a
 * small downscaled preview per image, since the full file can be megabytes. `details` carries the
 * structured result for logs and UIs. Failures are thrown, as OpenClaw expects.
 */
import { TOOLS, type ToolDefinition, type ToolOutput } from '../tools.js'
import type { AgentTool, AgentToolResult, ImageContent, PluginLogger } from './host.js'
import type { ToolApprovals } from './approvals.js'
import type { CoreAccess } from './runtime.js'

/** Previews per result: enough to see what came back without flooding the context. */
const MAX_PREVIEWS = 4

export type AgentToolOptions = {
  access: CoreAccess
  logger: PluginLogger
  /** Long edge of inline previews in px; 0 for none. */
  previewEdge: number
  /** The user's answers to OpenClaw's approval requests for paid calls above the threshold. */
  approvals?: ToolApprovals | undefined
}

export function agentTools(options: AgentToolOptions): AgentTool[] {
  return TOOLS.map((tool) => agentTool(tool, options))
}

export function agentTool(tool: ToolDefinition, { access, logger, previewEdge, approvals }: AgentToolOptions): AgentTool {
  return {
    name: tool.name,
    label: tool.title,
    description: tool.description,
    parameters: tool.inputSchema,
    async execute(toolCallId, params, signal, onUpdate) {
      const confirm = approvals?.take(toolCallId)
      const output = await access.run((core) =>
        tool.execute(core, params ?? {}, {
          signal,
          confirm,
          onProgress: onUpdate
            ? (progress) =>
                onUpdate({
                  content: [{ type: 'text', text: progress.message }],
                  details: { progress },
                  progress: { text: progress.message, visibility: 'channel', privacy: 'public', id: `${tool.name}-progress` },
                })
            : undefined,
        }),
      )
      return render(output, previewEdge, logger)
    },
  }
}

/** ToolOutput → OpenClaw content: text first (every client shows it), then previews. */
export async function render(output: ToolOutput, previewEdge: number, logger: PluginLogger): Promise<AgentToolResult> {
  const previews: ImageContent[] = []
  let text = output.text
  if (previewEdge > 0) {
    const { ImageLibraryUnavailable, renderPreview } = await import('../preview.js')
    for (const image of output.images.slice(0, MAX_PREVIEWS)) {
      try {
        const preview = await renderPreview(image.path, { maxEdge: previewEdge })
        previews.push({ type: 'image', data: preview.data, mimeType: preview.mimeType })
      } catch (error) {
        // The file and its path are what matter; a missing preview only costs the inline view.
        logger.warn(`imagegen: no preview for ${image.path}: ${(error as Error).message}`)
        if (error instanceof ImageLibraryUnavailable) {
          text = `${text}\n${error.note}`
          break
        }
      }
    }
  }
  return { content: [{ type: 'text', text }, ...previews], details: output.details }
}
