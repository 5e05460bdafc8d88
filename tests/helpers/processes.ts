/**
 * Real child processes for tests: the `imagegen` CLI as users run it (built JS in dist/).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'

export const CLI = fileURLToPath(new URL('../../dist/server/cli/index.js', import.meta.url))

/** A port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

export type ProxyProcess = {
  url: string
  port: number
  child: ChildProcess
  /** Everything the process wrote to stderr and stdout so far. */
  output(): string
  /** Resident memory now and at peak, bytes (Linux /proc). */
  memory(): Promise<{ rss: number; peak: number }>
  stop(signal?: NodeJS.Signals): Promise<number | null>
}

/**
 * `imagegen serve` on a free port, resolved once `/health` answers; every byte it prints is kept.
 * `home` and `upstream` become flags; anything else comes from `args` and `env`.
 */
export async function spawnProxy({ home, upstream, args = [], env = {} }: { home?: string; upstream?: string; args?: string[]; env?: Record<string, string> }): Promise<ProxyProcess> {
  const port = await freePort()
  const where = [...(upstream ? ['--upstream', upstream] : []), ...(home ? ['--home', home] : [])]
  const child = spawn(process.execPath, [CLI, 'serve', '--port', String(port), ...where, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout!.on('data', (chunk) => (output += chunk))
  child.stderr!.on('data', (chunk) => (output += chunk))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const url = `http://127.0.0.1:${port}`
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`proxy exited early: ${output}`)
    const ok = await fetch(`${url}/health`).then((r) => r.ok, () => false)
    if (ok) break
    if (i > 200) throw new Error(`proxy did not start: ${output}`)
    await sleep(25)
  }
  return {
    url,
    port,
    child,
    output: () => output,
    async memory() {
      const status = await readFile(`/proc/${child.pid}/status`, 'utf8')
      const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024
      return { rss: kb('VmRSS'), peak: kb('VmHWM') }
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null) child.kill(signal)
      return exited
    },
  }
}

export type CliRun = { code: number; stdout: string; stderr: string }

/**
 * `imagegen <args>` to completion, with only the variables given in `env` beyond the inherited
 * non-BLOCKRUN_* ones (a real wallet key in the environment must not leak in).
 */
export function runCli(args: string[], { env = {}, cwd, timeoutMs = 60_000 }: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {}): Promise<CliRun> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('BLOCKRUN_')))
  return new Promise((done) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { ...inherited, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout!.on('data', (chunk) => (stdout += chunk))
    child.stderr!.on('data', (chunk) => (stderr += chunk))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.once('close', (code, signal) => {
      clearTimeout(timer)
      done({ code: code ?? (signal ? 128 : 1), stdout, stderr })
    })
  })
}
