/**
 * What one request's answer may put on disk. The upstream chooses how many images it returns and
 * how large they are, paid or not (an unpaid 200 costs it nothing), so:
 * - only the first `n` entries (the images asked for) are stored; the images of any further
 *   entries are decoded into nothing;
 * - each image is capped, so what one answer writes is at most `n` capped images;
 * - everything decoded for the answer, kept or not, is capped at twice that, so an endless stream
 *   of extra entries ends long before the deadline.
 */
import { upstreamError } from '../errors.js'
import type { DecodedImage } from './images.js'
import type { ImageSink } from './result-body.js'

export type ResultLimits = {
  /** Images asked for: entries at this index or later are not stored. */
  images: number
  /** Bytes one image may have. */
  bytesPerImage: number
}

/** Sinks for one answer, under `limits`; `open` makes a stored sink. */
export function limitedSinks(open: () => ImageSink<DecodedImage>, { images, bytesPerImage }: ResultLimits): (index: number) => ImageSink<DecodedImage> {
  const budget = 2 * images * bytesPerImage
  let decoded = 0
  const count = (bytes: number) => {
    decoded += bytes
    if (decoded > budget) throw upstreamError(`The upstream's answer holds more image data than ${images} image${images === 1 ? '' : 's'} of at most ${bytesPerImage} bytes each could need (${budget} bytes read in all).`, undefined, 'result_too_large')
  }
  return (index) => {
    if (index >= images) {
      return {
        write: async (chunk) => count(chunk.byteLength),
        finish: async () => {
          throw upstreamError(`The upstream returned more than the ${images} image${images === 1 ? '' : 's'} asked for.`, undefined, 'too_many_images')
        },
        abort: async () => {},
      }
    }
    const sink = open()
    return {
      write: async (chunk) => {
        count(chunk.byteLength)
        await sink.write(chunk)
      },
      finish: () => sink.finish(),
      abort: () => sink.abort(),
    }
  }
}
