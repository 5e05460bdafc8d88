/**
 * `imagegen mcp` as a child process driven by the SDK's own Client, against a sandbox upstream with
 * a funded wallet in a throwaway home (tests/mcp*.test.ts).
 */
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js'
import type { SandboxOptions } from '../../server/sandbox/app.js'
import { startSandbox, type RunningSandbox } from '../../server/sandbox/server.js'
import { loadWallet, type Wallet } from '../../server/wallet/key.js'

export const ROOT = fileURLToPath(new URL('../..', import.meta.url))
export const CLI = join(ROOT, 'dist/server/cli/index.js')

/**
 * Spawns `imagegen mcp` with exactly `env` (plus PATH/HOME from the SDK's safe defaults) and lists
 * tools. `protocolVersion` makes the client ask for that version at initialize, as an older client would;
 * `client` declares the elicitation capability and sets the client's handlers.
 */
export type McpRun = {
  client: Client
  /** Everything the server wrote to stderr so far. */
  stderr(): string
  /** Milliseconds from spawn to the tools/list answer. */
  coldStartMs: number
  close(): Promise<void>
}

export async function startMcp(env: Record<string, string>, { protocolVersion, client: configure }: { protocolVersion?: string; client?: (client: Client) => void } = {}): Promise<McpRun & { tools: Awaited<ReturnType<Client['listTools']>>['tools'] }> {
  const started = performance.now()
  const transport = new StdioClientTransport({ command: process.execPath, args: [CLI, 'mcp'], env, stderr: 'pipe', cwd: ROOT })
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
    throw new Error(`imagegen mcp did not start: ${error instanceof Error ? error.message : String(error)}\nstderr:\n${stderr}`)
  }
  const coldStartMs = Math.round(performance.now() - started)
  return { client, tools, coldStartMs, stderr: () => stderr, close: () => client.close() }
}

export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

export type World = { home: string; wallet: Wallet; sandbox: RunningSandbox; env: Record<string, string>; close(): Promise<void> }

/** A funded wallet in a throwaway home, a sandbox, and the env that points an MCP server at both. */
export async function startWorld(sandboxOptions: SandboxOptions = {}, fundUsd = 10n): Promise<World> {
  const home = await mkdtemp(join(tmpdir(), 'imagegen-mcp-'))
  const wallet = await loadWallet({ home })
  const sandbox = await startSandbox({ jobMs: 50, ...sandboxOptions, fund: fundUsd > 0n ? { [wallet.address]: fundUsd * 1_000_000n } : {} })
  const env = {
    BLOCKRUN_HOME: home,
    BLOCKRUN_API_URL: sandbox.url,
    BLOCKRUN_PROXY_PORT: String(await freePort()),
    // The balance read must fail fast here, not wait on the real Base RPC.
    BASE_RPC_URL: `http://127.0.0.1:${await freePort()}`,
  }
  return {
    home,
    wallet,
    sandbox,
    env,
    async close() {
      await sandbox.close()
      await rm(home, { recursive: true, force: true })
    },
  }
}

export function textOf(result: CallToolResult): string {
  return result.content.filter((c) => c.type === 'text').map((c) => (c as { text: string }).text).join('\n')
}

export function blocks<T extends CallToolResult['content'][number]['type']>(result: CallToolResult, type: T) {
  return result.content.filter((c) => c.type === type) as Array<Extract<CallToolResult['content'][number], { type: T }>>
}

export async function ledgerLines(home: string): Promise<Array<{ kind: string; id: string }>> {
  const path = join(home, 'ledger.jsonl')
  if (!existsSync(path)) return []
  return (await readFile(path, 'utf8')).split('\n').filter(Boolean).map((line) => JSON.parse(line))
}

