/**
 * `imagegen mcp`: the stdio MCP server (plugin/mcp.ts). Its settings flags are a layer over the
 * environment, as for every other command.
 */
import type { CommandSpec, Parsed } from '../flags.js'
import { settingsLayer } from '../settings-flags.js'

export const spec = {
  usage: '[options]',
  description: [
    'The MCP server on stdin/stdout, with the tools generate_image, edit_image, list_image_models and wallet_status; for Claude Code: claude mcp add imagegen -- imagegen mcp. ' +
      'It uses a proxy of ours running on --port when it proves it is ours, otherwise the same pipeline in its own process. A setting it cannot use is reported by every tool call (MCP clients hide stderr).',
  ],
  positionals: { min: 0, max: 0 },
  flags: {},
  settings: 'all',
} as const satisfies CommandSpec

export async function run({ values }: Parsed<typeof spec>): Promise<void> {
  const { runMcpServer } = await import('../../../plugin/mcp.js')
  await runMcpServer({ settings: settingsLayer(values) })
}
