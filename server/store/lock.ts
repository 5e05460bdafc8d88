/**
 * A cross-process mutex on a lock file (created with O_EXCL), shared by every process that uses the
 * same `BLOCKRUN_HOME`: the proxy, MCP servers, the OpenClaw plugin and one-shot CLI commands.
 *
 * Why a file and not a database: the ledger it guards is a plain append-only file, and a lock file
 * works on every platform Node runs on without native modules.
 *
 * - Inside one process, callers queue on a promise chain first, so only one of them at a time
 *   polls the file (a hundred concurrent requests do not hammer the file system).
 * - The lock file holds `pid host token`. A holder that died (same host, pid gone) or a lock older
 *   than `staleMs` is broken. Critical sections here take milliseconds, far below the stale bound.
 * - Release removes the file only if it still carries our token, so a holder whose lock was broken
 *   as stale never removes the next holder's lock.
 *
 * Residual race, accepted: two waiters breaking the same stale lock at the same instant (only
 * possible after a crash) can both enter once.
 */
import { randomBytes } from 'node:crypto'
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs'
import { readFile, stat, unlink } from 'node:fs/promises'
import { hostname } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'

export type LockOptions = { staleMs?: number; timeoutMs?: number }

/** Per lock path, the tail of this process's queue. */
const queues = new Map<string, Promise<unknown>>()

export async function withFileLock<T>(path: string, work: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const previous = queues.get(path) ?? Promise.resolve()
  const run = previous.then(
    () => holdFileLock(path, work, options),
    () => holdFileLock(path, work, options),
  )
  const tail = run.catch(() => undefined)
  queues.set(path, tail)
  try {
    return await run
  } finally {
    if (queues.get(path) === tail) queues.delete(path)
  }
}

async function holdFileLock<T>(path: string, work: () => Promise<T>, options: LockOptions): Promise<T> {
  const staleMs = options.staleMs ?? 10_000
  const deadline = Date.now() + (options.timeoutMs ?? 30_000)
  const token = `${process.pid} ${hostname()} ${randomBytes(8).toString('hex')}`
  let delay = 1
  for (;;) {
    // The acquire and release steps are a few microseconds of syscalls each: done synchronously,
    // they cost far less than hops through libuv's thread pool on the payment path.
    try {
      const fd = openSync(path, 'wx', 0o600)
      try {
        writeSync(fd, token)
      } finally {
        closeSync(fd)
      }
      break
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      if (await isStale(path, staleMs)) {
        await unlink(path).catch(() => {})
        continue
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for the lock ${path}`)
      await sleep(delay)
      delay = Math.min(delay * 2, 20)
    }
  }
  try {
    return await work()
  } finally {
    releaseIfOurs(path, token)
  }
}

function releaseIfOurs(path: string, token: string): void {
  try {
    if (readFileSync(path, 'utf8') === token) unlinkSync(path)
  } catch {
    // already gone (broken as stale by another process): nothing of ours to remove
  }
}

/** True when the lock's holder is gone: a dead pid on this host, or older than `staleMs`. */
async function isStale(path: string, staleMs: number): Promise<boolean> {
  const info = await stat(path).catch(() => undefined)
  if (!info) return false // released meanwhile: just retry
  if (Date.now() - info.mtimeMs > staleMs) return true
  const [pid, host] = (await readFile(path, 'utf8').catch(() => '')).split(' ')
  if (!pid || host !== hostname() || Number(pid) === process.pid) return false
  return !isAlive(Number(pid))
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return true // unreadable: let the age rule decide
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}
