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
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js'
import type { SandboxOptions } from '../../server/sandbox/app.js'
import { startSandbox, type RunningSandbox } from '../../server/sandbox/server.js'
import { loadWallet, type Wallet } from '../../server/wallet/key.js'

export const ROOT = fileURLToPath(new URL('../..', import.meta.url))
export { CLI, startMcp, type McpRun } from './mcp-client.js'

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

