/**
 * The image store: `$BLOCKRUN_HOME/images/`. Files are written atomically under names we choose
 * (`<time>-<random>.<ext>`), so a name from a URL can be checked against one strict pattern and
 * nothing outside the folder is ever served.
 */
import { randomBytes } from 'node:crypto'
import { lstat, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { upstreamError } from '../errors.js'
import { streamToFileAtomic, writeFileAtomic } from './atomic.js'
import { sniffImage, type ImageType } from './sniff.js'

export type StoredImage = {
  file: string
  path: string
  bytes: number
  mimeType: ImageType['mime']
}

/** Names we write: nothing else is ever looked up. */
export const IMAGE_NAME_PATTERN = /^[0-9]{13}-[0-9a-f]{16}\.(png|jpg|webp)$/

export class ImageStore {
  readonly dir: string
  private ready: Promise<unknown> | undefined

  constructor(home: string) {
    this.dir = join(home, 'images')
  }

  /** Stores bytes that must be an image (checked), returning where they went. */
  async saveBytes(data: Uint8Array): Promise<StoredImage> {
    const type = sniffImage(data.subarray(0, 12))
    if (!type) throw upstreamError('The upstream returned something that is not a PNG, JPEG or WebP image.', undefined, 'not_an_image')
    await this.ensureDir()
    const file = newName(type.ext)
    const path = join(this.dir, file)
    await writeFileAtomic(path, data)
    return { file, path, bytes: data.byteLength, mimeType: type.mime }
  }

  /** Streams a download into the store; the first bytes are checked before anything is written. */
  async saveStream(body: ReadableStream<Uint8Array>, maxBytes: number, signal?: AbortSignal): Promise<StoredImage> {
    await this.ensureDir()
    const chunks = Readable.fromWeb(body as import('node:stream/web').ReadableStream<Uint8Array>)[Symbol.asyncIterator]() as AsyncIterator<Buffer>
    let head = Buffer.alloc(0)
    while (head.length < 12) {
      const next = await chunks.next()
      if (next.done) break
      head = Buffer.concat([head, next.value])
    }
    const type = sniffImage(head)
    if (!type) {
      await chunks.return?.()
      throw upstreamError('The upstream image URL returned something that is not an image.', undefined, 'not_an_image')
    }
    const file = newName(type.ext)
    const path = join(this.dir, file)
    async function* all() {
      yield head
      for (let next = await chunks.next(); !next.done; next = await chunks.next()) yield next.value
    }
    try {
      const bytes = await streamToFileAtomic(path, all(), { maxBytes, ...(signal ? { signal } : {}) })
      return { file, path, bytes, mimeType: type.mime }
    } catch (error) {
      await chunks.return?.()
      if ((error as NodeJS.ErrnoException).code === 'ETOOBIG') throw upstreamError(`The upstream image is larger than ${maxBytes} bytes.`, error, 'too_large')
      throw upstreamError('The upstream image download failed part-way.', error, 'download_failed')
    }
  }

  /** The path of a stored image, or undefined for any name we did not write or that is not a plain file. */
  async find(file: string): Promise<string | undefined> {
    if (!IMAGE_NAME_PATTERN.test(file)) return undefined
    const path = join(this.dir, file)
    const info = await lstat(path).catch(() => undefined)
    return info?.isFile() ? path : undefined
  }

  private ensureDir(): Promise<unknown> {
    this.ready ??= mkdir(this.dir, { recursive: true })
    return this.ready
  }
}

function newName(ext: string): string {
  return `${Date.now()}-${randomBytes(8).toString('hex')}.${ext}`
}
