/**
 * A cross-process mutex on a lock file (created with O_EXCL). Holders refresh nothing: a lock older
 * than `staleMs` belongs to a crashed process and is broken. Critical sections here are a few
 * milliseconds (read the ledger tail, append one line), far below the stale bound.
 */
import { open, stat, unlink } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'

export type LockOptions = { staleMs?: number; timeoutMs?: number }

export async function withFileLock<T>(path: string, work: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const staleMs = options.staleMs ?? 10_000
  const deadline = Date.now() + (options.timeoutMs ?? 30_000)
  let delay = 1
  for (;;) {
    try {
      const handle = await open(path, 'wx')
      await handle.write(String(process.pid))
      await handle.close()
      break
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      const info = await stat(path).catch(() => undefined)
      if (info && Date.now() - info.mtimeMs > staleMs) {
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
    await unlink(path).catch(() => {})
  }
}
