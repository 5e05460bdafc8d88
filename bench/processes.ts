/**
 * The bench's child processes: the sandbox upstream, the proxy (`imagegen serve`) and a bare
 * pass-through proxy, each in its own process, as they run for real, so each one's memory and
 * CPU time can be read from /proc.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { SandboxChildJob, SandboxChildOptions, SandboxChildState } from './sandbox-child.js'

const here = fileURLToPath(new URL('.', import.meta.url))
export const CLI = join(here, '..', 'server', 'cli', 'index.js')

export type SandboxProcess = { url: string; pid: number; state(): Promise<SandboxChildState>; jobs(): Promise<SandboxChildJob[]>; stop(): Promise<void> }

export async function startSandboxProcess(options: SandboxChildOptions): Promise<SandboxProcess> {
  const child = fork(join(here, 'sandbox-child.js'), [JSON.stringify(options)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const url = await new Promise<string>((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', (code) => reject(new Error(`sandbox exited early (${code})`)))
    child.on('message', (message: { type?: string; url?: string }) => message.type === 'ready' && resolve(message.url!))
  })
  let next = 0
  const ask = <T>(cmd: 'state' | 'jobs', field: 'state' | 'jobs') =>
    new Promise<T>((resolve) => {
      const id = ++next
      const listener = (message: { id?: number } & Record<string, unknown>) => {
        if (message.id !== id) return
        child.off('message', listener)
        resolve(message[field] as T)
      }
      child.on('message', listener)
      child.send({ id, cmd })
    })
  return {
    url,
    pid: child.pid!,
    state: () => ask<SandboxChildState>('state', 'state'),
    jobs: () => ask<SandboxChildJob[]>('jobs', 'jobs'),
    stop: () => stopChild(child, () => child.send({ cmd: 'stop' })),
  }
}

export type ProxyProcess = { url: string; pid: number; home: string; stop(): Promise<void> }

/** `imagegen serve` on a free port, with its own home, pointed at `upstream`. */
export async function startProxyProcess(upstream: string, walletKey: string, { home }: { home?: string } = {}): Promise<ProxyProcess> {
  home ??= await mkdtemp(join(tmpdir(), 'imagegen-bench-'))
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--upstream', upstream], {
    env: { ...process.env, BLOCKRUN_HOME: home, BLOCKRUN_WALLET_KEY: walletKey, BLOCKRUN_DAILY_BUDGET: '1000000', BLOCKRUN_MAX_PER_REQUEST: '5' },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  const url = await listeningUrl(child)
  child.stderr!.resume()
  return { url, pid: child.pid!, home, stop: () => stopChild(child, () => child.kill('SIGTERM')) }
}

export type PassthroughProcess = { url: string; pid: number; stop(): Promise<void> }

/** The bare forwarding proxy (passthrough-proxy.ts) in front of `upstream`. */
export async function startPassthroughProcess(upstream: string): Promise<PassthroughProcess> {
  const child = spawn(process.execPath, [join(here, 'passthrough-proxy.js'), upstream], { stdio: ['ignore', 'ignore', 'pipe'] })
  const url = await listeningUrl(child)
  child.stderr!.resume()
  return { url, pid: child.pid!, stop: () => stopChild(child, () => child.kill('SIGTERM')) }
}

/** Waits for `imagegen serve` (or the pass-through proxy) to say where it listens. */
export function listeningUrl(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = ''
    const onData = (chunk: Buffer) => {
      text += chunk.toString()
      const match = /listening on (http:\/\/\S+)/.exec(text)
      if (match) {
        child.stderr!.off('data', onData)
        resolve(match[1]!)
      }
    }
    child.stderr!.on('data', onData)
    child.once('exit', (code) => reject(new Error(`the server exited (${code}): ${text.slice(0, 500)}`)))
  })
}

async function stopChild(child: ChildProcess, ask: () => void): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  ask()
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
  await exited
  clearTimeout(timer)
}

/** CPU time (user + system) `pid` has used so far, ms (Linux /proc; 10 ms ticks). */
export function cpuTimeOf(pid: number): number {
  // Fields after the command name: state is the 1st, utime the 12th, stime the 13th.
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 10
}

/** Resident and peak resident memory of `pid`, bytes (Linux /proc). */
export function memoryOf(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') }
}

/** Resets the kernel's peak-RSS mark (VmHWM) of `pid`; false where that is not allowed. */
export function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5')
    return true
  } catch {
    return false
  }
}
