/**
 * The store step of the pipeline: one image of a paid answer becomes a file of ours. The paid
 * result reader has already stored what the answer carried inline (`stored`) or decoded it
 * (`bytes`); a URL is streamed in through the guarded downloader.
 */
import { ImagegenError } from '../errors.js'
import { streamDownload } from '../inputs/download.js'
import type { UpstreamImage } from '../upstream/images.js'
import type { ImageStore, ImageTags, StoredImage } from './images.js'

/** Bytes one result image may have, decoded or downloaded (a 4096x4096 PNG of pure noise is about 50 MB). */
export const MAX_RESULT_BYTES = 100 * 1024 * 1024

export type StoreResultImageParameters = {
  store: ImageStore
  /** Carries the request's deadline and the caller's leaving. */
  signal: AbortSignal
  tags: ImageTags
  /** The upstream's origin: the only place a result URL may point at a loopback or private address. */
  upstreamOrigin: string
  allowPrivateUrls: boolean
  /** No shorter than the request's deadline, which `signal` enforces. */
  timeoutMs: number
}

export type StoreResultImageReturnType = StoredImage & { revisedPrompt: string | undefined }

export async function storeResultImage(image: UpstreamImage, parameters: StoreResultImageParameters): Promise<StoreResultImageReturnType> {
  const stored =
    image.kind === 'stored'
      ? image.image
      : image.kind === 'bytes'
        ? await parameters.store.saveBytes(image.data, parameters.tags)
        : await download(image.url, parameters)
  return { ...stored, revisedPrompt: image.revisedPrompt }
}

/**
 * Streams a result URL into the store. The URL comes from the upstream, so it must not steer the
 * proxy into the user's network (cloud metadata, the router, a LAN service): link-local, metadata
 * and reserved addresses are always refused; loopback and private ones only on the upstream's own
 * origin (the sandbox, a self-hosted gateway) or with allowPrivateUrls. Redirects are followed by
 * hand and re-checked (server/inputs/download.ts).
 */
async function download(url: string, { store, signal, tags, upstreamOrigin, allowPrivateUrls, timeoutMs }: StoreResultImageParameters): Promise<StoredImage> {
  const failed = (message: string, cause?: unknown) => new ImagegenError({ status: 502, type: 'upstream_error', code: 'download_failed', message, cause })
  if (!URL.canParse(url)) throw failed('The upstream returned an image URL that is not a valid URL.')
  const writer = store.writer({ maxBytes: MAX_RESULT_BYTES, notImage: 'The upstream image URL returned something that is not an image.', tags })
  try {
    await streamDownload(
      new URL(url),
      {
        field: 'image',
        maxBytes: MAX_RESULT_BYTES,
        allowPrivate: allowPrivateUrls,
        allowPrivateOrigins: [upstreamOrigin],
        signal,
        timeoutMs,
        refuse: (message) => failed(`Downloading the generated image failed: ${message}`),
      },
      (chunk) => writer.write(chunk),
    )
    return await writer.finish()
  } catch (error) {
    await writer.abort()
    throw error
  }
}
