/**
 * An append-only JSON-lines file in `$BLOCKRUN_HOME` shared by every process over that home, as
 * the payment ledger is (server/payment/ledger.ts has the full argument): each line is appended
 * with one write() on an O_APPEND descriptor, so lines from several processes never interleave;
 * `sync` lines are fdatasync'd before the append resolves; readers catch up on whatever any process
 * appended since their last read, skipping a line torn by a crash.
 *
 * The receipt index and the idempotency journal (server/receipts/) are journals.
 */
import { closeSync, existsSync, fdatasync, fstatSync, mkdirSync, openSync, readSync, writeSync } from 'node:fs'
import { dirname } from 'node:path'
import { StringDecoder } from 'node:string_decoder'
import { syncDirectorySync } from './atomic.js'

export class Journal<Line extends object> {
  private fd: number | undefined
  private readOffset = 0
  private partial = ''
  private readonly decoder = new StringDecoder('utf8')
  private syncing: Promise<unknown> = Promise.resolve()

  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  }

  /**
   * Appends one line (synchronously, so nothing of this process interleaves before a `read` that
   * follows). With `sync`, resolves once the line is on disk.
   */
  append(line: Line, { sync = false }: { sync?: boolean } = {}): Promise<void> {
    const fd = this.open(true)!
    const text = Buffer.from(`${JSON.stringify(line)}\n`)
    const written = writeSync(fd, text)
    if (written !== text.length) throw new Error(`short write to ${this.path} (${written} of ${text.length} bytes)`)
    if (!sync) return Promise.resolve()
    const synced = new Promise<void>((resolve, reject) => fdatasync(fd, (error) => (error ? reject(error) : resolve())))
    this.syncing = Promise.all([this.syncing, synced.catch(() => undefined)])
    return synced
  }

  /** The lines appended (by any process) since the last call, in file order. Synchronous. */
  read(): Line[] {
    const fd = this.open(false)
    if (fd === undefined) return []
    const size = fstatSync(fd).size
    if (size <= this.readOffset) return []
    const buffer = Buffer.alloc(size - this.readOffset)
    const bytesRead = readSync(fd, buffer, 0, buffer.length, this.readOffset)
    this.readOffset += bytesRead
    const text = this.partial + this.decoder.write(buffer.subarray(0, bytesRead))
    const lines = text.split('\n')
    this.partial = lines.pop() ?? ''
    const out: Line[] = []
    for (const raw of lines) {
      const line = parseLine(raw)
      if (line) out.push(line as Line)
    }
    return out
  }

  async close(): Promise<void> {
    await this.syncing
    const fd = this.fd
    this.fd = undefined
    if (fd !== undefined) closeSync(fd)
  }

  private open(create: boolean): number | undefined {
    if (this.fd !== undefined) return this.fd
    const exists = existsSync(this.path)
    if (!exists && !create) return undefined
    this.fd = openSync(this.path, 'a+', 0o600)
    // A new file's name must reach the disk too (once per home).
    if (!exists) syncDirectorySync(dirname(this.path))
    return this.fd
  }
}

/** One line; a line torn by a crash (no newline, the next one glued on) keeps its intact last part. */
function parseLine(raw: string): object | undefined {
  if (!raw.trim()) return undefined
  const attempt = (text: string) => {
    try {
      const value = JSON.parse(text) as unknown
      return value && typeof value === 'object' && !Array.isArray(value) ? value : undefined
    } catch {
      return undefined
    }
  }
  const whole = attempt(raw)
  if (whole) return whole
  const start = raw.lastIndexOf('{"kind":')
  return start > 0 ? attempt(raw.slice(start)) : undefined
}
