/**
 * sharp (libvips), loaded once, on first use: listing tools and starting the proxy never pay for
 * it. Its native part is a per-platform package; where none was installed for this system (a
 * Claude Desktop extension unpacked on a system it carries no build for, an install made with
 * `--omit=optional`), every use says so in one clear error instead of a module-resolution trace.
 */
import { ImagegenError } from './errors.js'

export type Sharp = (typeof import('sharp'))['default']

export class ImageLibraryUnavailable extends ImagegenError {
  override name = 'ImageLibraryUnavailable'
  /** The sentence a tool result carries instead of its previews. */
  readonly note = `No inline preview: the image library (sharp) has no build for this system (${process.platform}-${process.arch}); the image files above are complete.`

  constructor(cause: unknown) {
    super({
      status: 500,
      type: 'server_error',
      code: 'image_library_unavailable',
      message: `The image library (sharp) could not load on this system (${process.platform}-${process.arch}), so input images cannot be checked or resized here: ${String((cause as Error)?.message ?? cause).split('\n')[0]}`,
      cause,
    })
  }
}

let loading: Promise<Sharp> | undefined

export function loadSharp(): Promise<Sharp> {
  loading ??= import('sharp').then(
    (module) => module.default,
    (error: unknown) => {
      throw new ImageLibraryUnavailable(error)
    },
  )
  return loading
}
