/**
 * Atomic file writes: data goes to a temp file beside the target, is fsync'd, then renamed (or
 * hard-linked, when the target must not be replaced). A crash leaves at most a stray temp file,
 * never a partial file under the final name.
 */
import { randomBytes } from 'node:crypto'
import { closeSync, fsync, fsyncSync, linkSync, openSync, renameSync, unlinkSync, writeSync, writev, writevSync } from 'node:fs'
import { open, unlink, mkdir } from 'node:fs/promises'
import { promisify } from 'node:util'
import { dirname, basename, join } from 'node:path'

export const TEMP_PREFIX = '.tmp-'

function tempPathFor(target: string): string {
  return join(dirname(target), `${TEMP_PREFIX}${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}`)
}

export type WriteAtomicOptions = {
  mode?: number
  /** Fail with EEXIST instead of replacing an existing file. */
  exclusive?: boolean
  /**
   * Whether the directory fsync that makes the new name durable is awaited (default) or left to
   * run in the background. The file's data is always fsync'd before the rename, so either way a
   * crash leaves the complete file under one of its two names, never a partial one; 'background'
   * only allows that name to be the temp one after a power loss, and saves three file system
   * round trips (open, fsync, close) on the caller's path.
   */
  directorySync?: 'await' | 'background'
  /** The directory is known to exist (skips a mkdir per file). */
  directoryExists?: boolean
}

/** Writes `data` to `target` atomically. */
export async function writeFileAtomic(target: string, data: Uint8Array | string, options: WriteAtomicOptions = {}): Promise<void> {
  await mkdir(dirname(target), { recursive: true })
  const temp = tempPathFor(target)
  const handle = await open(temp, 'wx', options.mode ?? 0o644)
  try {
    await handle.writeFile(data)
    await handle.sync()
  } finally {
    await handle.close()
  }
  await commit(temp, target, options.exclusive ?? false, options.directorySync)
}

/**
 * A file being written piece by piece: nothing appears under `target` until `commit`; `abort`
 * (or any failed write) removes the temp file. Writes are batched (up to BATCH_BYTES) so a stream
 * of small chunks costs few system calls, and the caller awaits each write, which bounds what is
 * held in memory to one batch.
 */
export type AtomicFile = {
  readonly target: string
  /** Bytes written so far. */
  readonly bytes: number
  write(chunk: Uint8Array): Promise<void>
  /** Flushes, fsyncs, and moves the file to `target`. */
  commit(): Promise<void>
  /** Removes the temp file; safe to call more than once, and after a failed commit. */
  abort(): Promise<void>
}

const BATCH_BYTES = 1024 * 1024
/**
 * Batches up to this size are written synchronously: copying them into the page cache takes a
 * few tens of microseconds, less than a hand-off to libuv's thread pool and back. Larger ones,
 * and every fsync (which waits for the disk), go to the thread pool.
 */
const SYNC_WRITE_BYTES = 256 * 1024

const writevAsync = promisify(writev)
const fsyncAsync = promisify(fsync)

/**
 * Opens a temp file for `target`. Opening, closing and renaming are single metadata operations
 * done synchronously for the same reason as small writes; this is on every image's path.
 */
export async function openAtomicFile(target: string, options: WriteAtomicOptions & { maxBytes?: number } = {}): Promise<AtomicFile> {
  if (!options.directoryExists) await mkdir(dirname(target), { recursive: true })
  const temp = tempPathFor(target)
  const fd = openSync(temp, 'wx', options.mode ?? 0o644)
  const limit = options.maxBytes ?? Number.POSITIVE_INFINITY
  let pending: Uint8Array[] = []
  let pendingBytes = 0
  let bytes = 0
  let state: 'open' | 'done' = 'open'

  let closed = false
  /** The thread-pool operation on `fd` in flight, if any: the descriptor is never closed under it. */
  let busy: Promise<unknown> | undefined
  const onPool = <T>(operation: Promise<T>): Promise<T> => {
    busy = operation.catch(() => undefined)
    return operation
  }
  const closeOnce = () => {
    if (closed) return
    closed = true
    closeQuietly(fd)
  }

  const flush = async () => {
    if (pendingBytes === 0) return
    const batch = pending
    const size = pendingBytes
    pending = []
    pendingBytes = 0
    let written = size <= SYNC_WRITE_BYTES ? writevSync(fd, batch) : (await onPool(writevAsync(fd, batch))).bytesWritten
    // writev may write less than asked (rarely, for regular files); finish the rest.
    while (written < size) written += writeSync(fd, Buffer.concat(batch).subarray(written))
  }
  const abort = async () => {
    if (state === 'done') return
    state = 'done'
    pending = []
    await busy
    closeOnce()
    await unlink(temp).catch(() => {})
  }
  return {
    target,
    get bytes() {
      return bytes
    },
    async write(chunk) {
      if (state !== 'open') throw new Error('write after the file was closed')
      if (chunk.byteLength === 0) return
      bytes += chunk.byteLength
      if (bytes > limit) {
        await abort()
        throw Object.assign(new Error(`larger than ${limit} bytes`), { code: 'ETOOBIG' })
      }
      pending.push(chunk)
      pendingBytes += chunk.byteLength
      if (pendingBytes >= BATCH_BYTES) await flush().catch(async (error: unknown) => {
        await abort()
        throw error
      })
    },
    async commit() {
      if (state !== 'open') throw new Error('commit after the file was closed')
      try {
        await flush()
        await onPool(fsyncAsync(fd))
      } catch (error) {
        await abort()
        throw error
      }
      // Aborted while the data was being synced: the temp file is already gone.
      if (state !== 'open') throw new Error('the file was aborted before it was committed')
      state = 'done'
      closeOnce()
      await commit(temp, target, options.exclusive ?? false, options.directorySync)
    },
    abort,
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd)
  } catch {
    // already closed
  }
}

async function commit(temp: string, target: string, exclusive: boolean, directorySync: WriteAtomicOptions['directorySync'] = 'await'): Promise<void> {
  try {
    if (exclusive) {
      linkSync(temp, target)
      unlinkSync(temp)
    } else {
      renameSync(temp, target)
    }
  } catch (error) {
    await unlink(temp).catch(() => {})
    throw error
  }
  if (directorySync === 'background') syncDirectoryLater(dirname(target))
  else await syncDirectory(dirname(target))
}

/** Directories with a background fsync queued or running, and whether another is owed. */
const directorySyncs = new Map<string, { again: boolean }>()

/**
 * Queues a directory fsync behind the answer. Renames that land while one runs are covered by a
 * single follow-up, so a burst of images costs two directory syncs, not one each.
 */
function syncDirectoryLater(dir: string): void {
  const queued = directorySyncs.get(dir)
  if (queued) {
    queued.again = true
    return
  }
  const entry = { again: false }
  directorySyncs.set(dir, entry)
  const run = (): void => {
    entry.again = false
    void syncDirectory(dir)
      .catch(() => {})
      .then(() => (entry.again ? run() : directorySyncs.delete(dir)))
  }
  run()
}

/** Makes the rename durable; some platforms cannot open a directory, which is harmless. */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r').catch(() => undefined)
  if (!handle) return
  try {
    await handle.sync()
  } catch {
    // not supported on this platform
  } finally {
    await handle.close()
  }
}

/**
 * `syncDirectory` without leaving the caller's turn, for a name created once (the ledger file),
 * where the caller is synchronous by design.
 */
export function syncDirectorySync(dir: string): void {
  let fd: number | undefined
  try {
    fd = openSync(dir, 'r')
    fsyncSync(fd)
  } catch {
    // not supported on this platform
  } finally {
    if (fd !== undefined) closeQuietly(fd)
  }
}
