/**
 * Thumbnails for the gallery's grid, made once per image and kept in
 * `$BLOCKRUN_HOME/thumbnails/<box>/<file>.webp` (0600 in a 0700 folder, like the images: a
 * thumbnail shows the picture). They are made on the first request for them, by sharp, at most
 * two at a time (one per core of a small machine), and a request for one being made waits for
 * it rather than making it twice. Stored images never change (new names for new bytes), so a
 * thumbnail never goes stale.
 *
 * Only names the store wrote, or ClawRouter did, are ever thumbnailed (the caller checks them
 * against the strict patterns; this checks again), so nothing outside the images folder is read.
 * A thumbnail whose image was deleted (by hand, or by ClawRouter) is removed once per process, in
 * the background of the first thumbnail asked for: a deleted picture leaves no copy behind.
 */
import { lstat, mkdir, readdir, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { ImagegenError } from '../errors.js'
import { ImageLibraryUnavailable, loadSharp } from '../image-library.js'
import { writeFileAtomic } from '../store/atomic.js'
import { isStoredName } from './index.js'

/** The longest side of a thumbnail, pixels: about two grid cells' worth on a high-density screen. */
export const THUMBNAIL_BOX = 400
const QUALITY = 72
const AT_ONCE = 2
/** A stored image larger than this many pixels is not thumbnailed (sharp's own default limit is 268 M). */
const MAX_PIXELS = 100_000_000

export class Thumbnails {
  readonly dir: string
  private readonly making = new Map<string, Promise<string>>()
  private running = 0
  private readonly waiting: Array<() => void> = []
  private ready: Promise<unknown> | undefined
  private pruning: Promise<void> | undefined

  /** `imagesDir`: the store's folder, where each thumbnail's image is (or was). */
  constructor(
    home: string,
    private readonly imagesDir: string,
  ) {
    this.dir = join(home, 'thumbnails', String(THUMBNAIL_BOX))
  }

  /** Removes the thumbnails of images no longer in the store; resolves when done (errors are ignored). */
  prune(): Promise<void> {
    this.pruning ??= (async () => {
      const names = await readdir(this.dir).catch(() => [] as string[])
      for (const name of names) {
        const file = name.endsWith('.webp') ? name.slice(0, -'.webp'.length) : ''
        if (!isStoredName(file)) continue
        // Only a missing image frees its thumbnail; one that cannot be checked keeps it.
        const gone = await lstat(join(this.imagesDir, file)).then(
          () => false,
          (error: NodeJS.ErrnoException) => error.code === 'ENOENT',
        )
        if (gone) await unlink(join(this.dir, name)).catch(() => undefined)
      }
    })()
    return this.pruning
  }

  /**
   * The path of `file`'s thumbnail, made from `source` (its path in the store) on first use.
   * Throws ImageLibraryUnavailable where sharp cannot load, and a 422 when the image cannot be read.
   */
  async path(file: string, source: string): Promise<string> {
    if (!isStoredName(file)) throw new ImagegenError({ status: 404, type: 'not_found_error', code: 'image_not_found', message: 'No such image.' })
    void this.prune()
    const target = join(this.dir, `${file}.webp`)
    if ((await lstat(target).catch(() => undefined))?.isFile()) return target
    let made = this.making.get(file)
    if (!made) {
      made = this.make(source, target).finally(() => this.making.delete(file))
      this.making.set(file, made)
    }
    return made
  }

  private async make(source: string, target: string): Promise<string> {
    const sharp = await loadSharp()
    await this.slot()
    try {
      this.ready ??= mkdir(this.dir, { recursive: true, mode: 0o700 }).catch((error: unknown) => {
        this.ready = undefined
        throw error
      })
      await this.ready
      let data: Buffer
      try {
        data = await sharp(source, { limitInputPixels: MAX_PIXELS })
          .rotate()
          .resize(THUMBNAIL_BOX, THUMBNAIL_BOX, { fit: 'inside', withoutEnlargement: true })
          .webp({ quality: QUALITY })
          .toBuffer()
      } catch (error) {
        if (error instanceof ImageLibraryUnavailable) throw error
        throw new ImagegenError({ status: 422, type: 'invalid_request_error', code: 'thumbnail_failed', message: `This image cannot be read to make its thumbnail: ${(error as Error).message}`, cause: error })
      }
      await writeFileAtomic(target, data, { mode: 0o600, directoryExists: true, directorySync: 'background' })
      return target
    } finally {
      this.release()
    }
  }

  private async slot(): Promise<void> {
    if (this.running < AT_ONCE) {
      this.running++
      return
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve))
  }

  private release(): void {
    const next = this.waiting.shift()
    if (next) next()
    else this.running--
  }
}
