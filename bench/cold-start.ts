/**
 * Cold start, spawn to first answer: `imagegen mcp` answering tools/list over stdio (initialize,
 * initialized and tools/list are written at once, as a client does), and `imagegen serve`
 * answering GET /health. Both run against a home that already holds a wallet, the usual case.
 */
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { CLI, listeningUrl } from './processes.js'

/**
 * The bundle's file that holds `source` (a path as esbuild's metafile, dist/bundle-meta.json, names
 * it): the chunk a dynamic import of it loads, else the shared chunk it went into.
 */
export function bundleChunk(source: string): string {
  const meta = JSON.parse(readFileSync(new URL('../../dist/bundle-meta.json', import.meta.url), 'utf8')) as { outputs: Record<string, { entryPoint?: string; inputs: Record<string, unknown> }> }
  const outputs = Object.entries(meta.outputs)
  const found = outputs.find(([, output]) => output.entryPoint === source) ?? outputs.find(([, output]) => source in output.inputs)
  if (!found) throw new Error(`no file of the bundle holds ${source}`)
  return found[0]
}

export async function mcpColdStart(env: NodeJS.ProcessEnv): Promise<number> {
  const started = performance.now()
  const child = spawn(process.execPath, [CLI, 'mcp'], { env, stdio: ['pipe', 'pipe', 'ignore'] })
  const messages = [
    { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench', version: '0' } } },
    { jsonrpc: '2.0', method: 'notifications/initialized' },
    { jsonrpc: '2.0', id: 2, method: 'tools/list' },
  ]
  child.stdin.write(messages.map((m) => JSON.stringify(m)).join('\n') + '\n')
  const elapsed = await new Promise<number>((resolve, reject) => {
    let text = ''
    child.stdout.on('data', (chunk: Buffer) => {
      text += chunk.toString()
      for (const line of text.split('\n')) {
        if (!line.includes('"id":2')) continue
        const reply = JSON.parse(line) as { result?: { tools?: unknown[] } }
        if (!reply.result?.tools?.length) reject(new Error(`tools/list gave no tools: ${line.slice(0, 300)}`))
        resolve(performance.now() - started)
      }
    })
    child.once('exit', (code) => reject(new Error(`imagegen mcp exited (${code}) before answering tools/list`)))
  })
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.stdin.end()
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
  await exited
  clearTimeout(timer)
  return elapsed
}

export async function serveColdStart(env: NodeJS.ProcessEnv): Promise<number> {
  const started = performance.now()
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0'], { env, stdio: ['ignore', 'ignore', 'pipe'] })
  try {
    const url = await listeningUrl(child)
    const response = await fetch(`${url}/health`)
    const body = (await response.json()) as { ready?: boolean }
    if (body.ready !== true) throw new Error(`/health answered ${JSON.stringify(body)}`)
    return performance.now() - started
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGTERM')
    await exited
  }
}

/** Spawn to exit of `node --input-type=module -e <code>`: how much of a cold start one import costs. */
export async function nodeRun(code: string): Promise<number> {
  const started = performance.now()
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: 'ignore' })
  const status = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  if (status !== 0) throw new Error(`node -e ${code.slice(0, 80)} exited ${status}`)
  return performance.now() - started
}
