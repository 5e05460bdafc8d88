/**
 * An MCP server as a client sees it: a child process driven over stdio by the SDK's own Client.
 */
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
/** The built CLI (the bundle). */
export const CLI = join(ROOT, 'dist/server/cli/index.js')

export type McpRun = {
  client: Client
  tools: Awaited<ReturnType<Client['listTools']>>['tools']
  /** Everything the server wrote to stderr so far. */
  stderr(): string
  /** Milliseconds from spawn to the tools/list answer. */
  coldStartMs: number
  close(): Promise<void>
}

export type StartMcpOptions = {
  /** Ask for this protocol version at initialize, as an older client would. */
  protocolVersion?: string
  /** The server's command line (default: node and the built CLI's `mcp`), e.g. a .mcpb manifest's. */
  command?: string
  args?: string[]
  cwd?: string
  /** Declares the elicitation capability and sets the client's handlers (before connecting). */
  client?: (client: Client) => void
}

/**
 * Spawns the MCP server with exactly `env` (plus PATH/HOME from the SDK's safe defaults) and lists
 * its tools.
 */
export async function startMcp(env: Record<string, string>, { protocolVersion, command = process.execPath, args = [CLI, 'mcp'], cwd = ROOT, client: configure }: StartMcpOptions = {}): Promise<McpRun> {
  const started = performance.now()
  const transport = new StdioClientTransport({ command, args, env, stderr: 'pipe', cwd })
  if (protocolVersion) {
    const send = transport.send.bind(transport)
    transport.send = (message) => send('method' in message && message.method === 'initialize' ? { ...message, params: { ...message.params, protocolVersion } } : message)
  }
  let stderr = ''
  transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')))
  const client = new Client({ name: 'imagegen-test', version: '1.0.0' }, configure ? { capabilities: { elicitation: {} } } : {})
  configure?.(client)
  let tools
  try {
    await client.connect(transport)
    ;({ tools } = await client.listTools())
  } catch (error) {
    await client.close().catch(() => {})
    throw new Error(`the MCP server did not start: ${error instanceof Error ? error.message : String(error)}\nstderr:\n${stderr}`)
  }
  const coldStartMs = Math.round(performance.now() - started)
  return { client, tools, coldStartMs, stderr: () => stderr, close: () => client.close() }
}
