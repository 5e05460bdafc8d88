/**
 * Atomic file writes: data goes to a temp file beside the target, is fsync'd, then renamed (or
 * hard-linked, when the target must not be replaced). A crash leaves at most a stray temp file,
 * never a partial file under the final name.
 */
import { randomBytes } from 'node:crypto'
import { open, link, rename, unlink, mkdir } from 'node:fs/promises'
import { createWriteStream } from 'node:fs'
import { dirname, basename, join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import type { Readable } from 'node:stream'

export const TEMP_PREFIX = '.tmp-'

function tempPathFor(target: string): string {
  return join(dirname(target), `${TEMP_PREFIX}${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}`)
}

export type WriteAtomicOptions = {
  mode?: number
  /** Fail with EEXIST instead of replacing an existing file. */
  exclusive?: boolean
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
  await commit(temp, target, options.exclusive ?? false)
}

/** Streams `source` to `target` atomically, stopping at `maxBytes`. Returns the byte count. */
export async function streamToFileAtomic(
  target: string,
  source: Readable | AsyncIterable<Uint8Array>,
  options: WriteAtomicOptions & { maxBytes?: number; signal?: AbortSignal } = {},
): Promise<number> {
  await mkdir(dirname(target), { recursive: true })
  const temp = tempPathFor(target)
  let bytes = 0
  const limit = options.maxBytes ?? Number.POSITIVE_INFINITY
  try {
    await pipeline(
      source,
      async function* (chunks: AsyncIterable<Uint8Array>) {
        for await (const chunk of chunks) {
          bytes += chunk.byteLength
          if (bytes > limit) throw Object.assign(new Error(`larger than ${limit} bytes`), { code: 'ETOOBIG' })
          yield chunk
        }
      },
      createWriteStream(temp, { flags: 'wx', mode: options.mode ?? 0o644 }),
      ...(options.signal ? [{ signal: options.signal }] : []),
    )
    const handle = await open(temp, 'r+')
    try {
      await handle.sync()
    } finally {
      await handle.close()
    }
    await commit(temp, target, options.exclusive ?? false)
    return bytes
  } catch (error) {
    await unlink(temp).catch(() => {})
    throw error
  }
}

async function commit(temp: string, target: string, exclusive: boolean): Promise<void> {
  try {
    if (exclusive) {
      await link(temp, target)
      await unlink(temp)
    } else {
      await rename(temp, target)
    }
  } catch (error) {
    await unlink(temp).catch(() => {})
    throw error
  }
  await syncDirectory(dirname(target))
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
