/**
 * The image store: `$BLOCKRUN_HOME/images/`. Files are written atomically under names we choose
 * (`<time>-<random>.<ext>`), so a name from a URL can be checked against one strict pattern and
 * nothing outside the folder is ever served.
 *
 * The folder is 0700 and every image 0600: a picture is the user's as much as a file they named
 * as an edit input. An images folder that already exists with looser modes (made by an older
 * version, or by another program sharing the home) is tightened the first time we write to it.
 *
 * Results arrive as bytes (`saveBytes`) or piece by piece (`writer`: a download, or base64 decoded
 * while an upstream JSON body is still being read), which never holds the whole image in memory.
 */
import { createHash, randomBytes } from 'node:crypto'
import { chmod, lstat, mkdir, open, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { upstreamError } from '../errors.js'
import { openAtomicFile, type AtomicFile } from './atomic.js'
import { imageTypeForExtension, sniffImage, type ImageType } from './sniff.js'
import { tagger, type ImageTags, type Tagger } from './tags.js'
import { WholenessCheck } from './wholeness.js'

export type { ImageTags } from './tags.js'

export type StoredImage = {
  file: string
  path: string
  bytes: number
  mimeType: ImageType['mime']
  /** SHA-256 of the file as stored (hex), tags included: what a receipt names. */
  sha256: string
}

/**
 * An image being written as its bytes arrive. The first bytes are sniffed before a file is
 * opened (the extension comes from them); nothing is visible in the store until `finish`.
 */
export type ImageWriter = {
  write(chunk: Uint8Array): Promise<void>
  /** Commits the file; fails when no bytes, or no image, arrived. */
  finish(): Promise<StoredImage>
  /** Drops whatever was written. Safe to call at any point, more than once. */
  abort(): Promise<void>
}

export type ImageWriterOptions = {
  /** Largest image accepted, bytes. */
  maxBytes?: number
  /** The message when the bytes are not an image. */
  notImage?: string
  /** Written into the file's metadata (tags.ts); the pixels are not touched. */
  tags?: ImageTags | undefined
}

/** Names we write: nothing else is ever looked up, but for ClawRouter's below. */
export const IMAGE_NAME_PATTERN = /^[0-9]{13}-[0-9a-f]{16}\.(png|jpg|webp)$/

/**
 * Names BlockRun's ClawRouter gives the images it saves into the same folder
 * (`~/.openclaw/blockrun/images/`): `${Date.now()}-${Math.random().toString(36).slice(2, 10)}.${ext}`
 * (ClawRouter src/proxy.ts). Never ours (1 to 8 base-36 characters, where ours have 16 hex); what
 * such a file holds is judged by its bytes, never by its name.
 */
export const CLAWROUTER_IMAGE_NAME_PATTERN = /^[0-9]{13}-[0-9a-z]{1,8}\.(png|jpg|webp)$/

/** When a stored name (ours or ClawRouter's) was given: both start with the writer's clock, in ms. */
export function nameTime(file: string): number {
  return Number(file.slice(0, 13))
}

const SNIFF_BYTES = 12
const NOT_AN_IMAGE = 'The upstream returned something that is not a PNG, JPEG or WebP image.'

export class ImageStore {
  readonly dir: string
  private ready: Promise<unknown> | undefined

  constructor(home: string) {
    this.dir = join(home, 'images')
  }

  /** Stores bytes that must be an image (checked), returning where they went. */
  async saveBytes(data: Uint8Array, tags?: ImageTags): Promise<StoredImage> {
    const writer = this.writer({ tags })
    try {
      await writer.write(data)
      return await writer.finish()
    } catch (error) {
      await writer.abort()
      throw error
    }
  }

  /** Starts an image that will arrive in pieces (see ImageWriter). */
  writer({ maxBytes = Number.POSITIVE_INFINITY, notImage = NOT_AN_IMAGE, tags }: ImageWriterOptions = {}): ImageWriter {
    // Chunks seen before there are enough bytes to tell the type; kept as views, not copied.
    let head: Uint8Array[] = []
    let headBytes = 0
    let type: ImageType | undefined
    let name = ''
    let file: AtomicFile | undefined
    let opening: Promise<AtomicFile> | undefined
    // More than the first bytes: a file is stored only if it ends as its format says (wholeness.ts).
    const whole = new WholenessCheck()
    // The tags go in as the bytes pass (never the pixels); the hash is of what is stored.
    let tagging: Tagger | undefined
    const hash = createHash('sha256')

    const put = async (target: AtomicFile, chunk: Uint8Array) => {
      try {
        for (const piece of tagging ? tagging.push(chunk) : [chunk]) await store(target, piece)
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ETOOBIG') throw upstreamError(`The upstream image is larger than ${maxBytes} bytes.`, error, 'too_large')
        throw error
      }
    }
    const store = async (target: AtomicFile, piece: Uint8Array) => {
      if (piece.byteLength === 0) return
      hash.update(piece)
      await target.write(piece)
    }
    const open = async () => {
      type = sniffImage(Buffer.concat(head, Math.min(headBytes, SNIFF_BYTES)))
      if (!type) throw upstreamError(notImage, undefined, 'not_an_image')
      if (tags) tagging = tagger(type, tags)
      await this.ensureDir()
      name = newName(type.ext)
      // The data is fsync'd before the rename; the directory fsync runs behind the answer.
      opening = openAtomicFile(join(this.dir, name), { maxBytes, mode: 0o600, directoryExists: true, directorySync: 'background' })
      file = await opening
      const pieces = head
      head = []
      for (const piece of pieces) await put(file, piece)
    }
    return {
      async write(chunk) {
        if (chunk.byteLength === 0) return
        whole.push(chunk)
        if (file) return put(file, chunk)
        head.push(chunk)
        headBytes += chunk.byteLength
        if (headBytes >= SNIFF_BYTES) await open()
      },
      async finish() {
        if (!file) {
          if (headBytes === 0) throw upstreamError('The upstream returned empty image data.', undefined, 'bad_image_entry')
          await open()
        }
        const problem = whole.problem(type!)
        if (problem) {
          await file!.abort()
          throw upstreamError(`The upstream returned an image that is not whole: ${problem}.`, undefined, 'image_not_whole')
        }
        if (tagging) for (const piece of tagging.end()) await store(file!, piece)
        await file!.commit()
        return { file: name, path: file!.target, bytes: file!.bytes, mimeType: type!.mime, sha256: hash.digest('hex') }
      },
      async abort() {
        head = []
        const pending = file ?? (await opening?.catch(() => undefined))
        await pending?.abort()
      },
    }
  }

  /** The path of a stored image, or undefined for any name we did not write or that is not a plain file. */
  async find(file: string): Promise<string | undefined> {
    if (!IMAGE_NAME_PATTERN.test(file)) return undefined
    const path = join(this.dir, file)
    const info = await lstat(path).catch(() => undefined)
    return info?.isFile() ? path : undefined
  }

  /** A servable image of the folder, ours or ClawRouter's: its path and type; undefined for any other name. */
  async findImage(file: string): Promise<{ path: string; type: ImageType } | undefined> {
    const path = await this.find(file)
    if (path) return { path, type: imageTypeForExtension(file.slice(file.lastIndexOf('.') + 1))! }
    return this.findShared(file)
  }

  /**
   * A file ClawRouter saved into the shared folder, by its strict name pattern: its path and the
   * type its first bytes show, or undefined when it is not a plain file holding a PNG, JPEG or WebP.
   */
  async findShared(file: string): Promise<{ path: string; type: ImageType } | undefined> {
    if (!CLAWROUTER_IMAGE_NAME_PATTERN.test(file)) return undefined
    const path = join(this.dir, file)
    const info = await lstat(path).catch(() => undefined)
    if (!info?.isFile()) return undefined
    const handle = await open(path, 'r').catch(() => undefined)
    if (!handle) return undefined
    try {
      const head = new Uint8Array(SNIFF_BYTES)
      const { bytesRead } = await handle.read(head, 0, SNIFF_BYTES, 0)
      const type = sniffImage(head.subarray(0, bytesRead))
      return type && { path, type }
    } finally {
      await handle.close()
    }
  }

  private ensureDir(): Promise<unknown> {
    this.ready ??= privateDirectory(this.dir).catch((error: unknown) => {
      this.ready = undefined
      throw error
    })
    return this.ready
  }
}

/** Creates `dir` 0700 (and any missing parent), or takes an existing one of ours down to 0700. */
async function privateDirectory(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const info = await stat(dir)
  if ((info.mode & 0o077) !== 0 && info.uid === process.getuid?.()) await chmod(dir, 0o700)
}

function newName(ext: string): string {
  return `${Date.now()}-${randomBytes(8).toString('hex')}.${ext}`
}
