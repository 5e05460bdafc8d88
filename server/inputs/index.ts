/**
 * The InputResolver the service uses for edits. For each reference image and the mask: load it
 * (./load.ts), check that the bytes are an image (./image-check.ts); then rebuild each image from
 * its picture alone (./clean.ts) and bring it under the gateway's size cap (./fit.ts); last, turn
 * the mask into the gateway's convention at the size the image is sent at (./mask.ts). The checked
 * bytes go upstream as data URIs.
 *
 * All inputs load in parallel; the first refusal stops the others, and the refusal reported is
 * the first one in request order (images, then the mask) that was not caused by that stop.
 */
import type { Settings } from '../config.js'
import { ImagegenError } from '../errors.js'
import type { ImageStore } from '../store/images.js'
import { PNG } from '../store/sniff.js'
import { InlineData } from '../upstream/request-body.js'
import { cleanImage, type CleanImage } from './clean.js'
import { fitUnderCap, GATEWAY_MAX_INPUT_BYTES, megabytes } from './fit.js'
import { checkImage, type CheckedImage } from './image-check.js'
import { loadInput, type LoadContext } from './load.js'
import { prepareMask } from './mask.js'
import { refuseInput, type InputField } from './refusal.js'
import type { InputResolver, ResolvedInputs } from './resolve.js'

export type { InputResolver, ResolvedInputs, ResolveParameters } from './resolve.js'
export { absolutizeReference, classifyReference } from './reference.js'

export type InputResolverParameters = {
  settings: Pick<Settings, 'maxInputBytes' | 'allowPrivateUrls'>
  /** The store whose images may be referenced by URL (`/images/<file>`); read lazily. */
  store: () => ImageStore
}

type Loaded = { field: InputField; label: string; checked: CheckedImage }
type Prepared = { clean: CleanImage; sent: CleanImage; note?: string | undefined }

export function createInputResolver({ settings, store }: InputResolverParameters): InputResolver {
  return {
    async resolve({ images, mask, signal, ownBaseUrl }): Promise<ResolvedInputs> {
      if (mask !== undefined && images.length !== 1) throw new Error('a mask comes with exactly one image (edit-rules.ts refuses anything else first)')
      const fields: InputField[] = images.length === 1 ? ['image'] : images.map((_, i): InputField => `image[${i}]`)
      const references = images.map((reference, i) => ({ field: fields[i]!, reference }))
      if (mask !== undefined) references.push({ field: 'mask', reference: mask })
      const loaded = await loadAll(references, { maxBytes: settings.maxInputBytes, allowPrivateUrls: settings.allowPrivateUrls, store: store(), ownBaseUrl }, signal)
      const loadedImages = loaded.filter((item) => item.field !== 'mask')
      const loadedMask = loaded.find((item) => item.field === 'mask')

      const prepared = await Promise.all(loadedImages.map(prepareImage))
      const notes = prepared.flatMap((item) => (item.note ? [item.note] : []))
      const resolved: ResolvedInputs = { images: prepared.map(({ sent }) => new InlineData(sent.type.mime, sent.bytes)), notes }
      if (loadedMask) {
        const [{ clean, sent }] = prepared as [Prepared]
        const maskPng = await prepareMask(loadedMask.checked, clean, sent).catch(unprepared('mask', loadedMask.label))
        if (maskPng.bytes.length > GATEWAY_MAX_INPUT_BYTES)
          throw refuseInput('mask', `${loadedMask.label} makes a ${megabytes(maskPng.bytes.length)} PNG mask, over the gateway's ${megabytes(GATEWAY_MAX_INPUT_BYTES)} limit; use a simpler mask (solid areas) or a smaller image.`, 'mask_too_large')
        resolved.mask = new InlineData(PNG.mime, maskPng.bytes)
      }
      return resolved
    },
  }
}

async function loadAll(references: Array<{ field: InputField; reference: string }>, context: Omit<LoadContext, 'signal'>, signal: AbortSignal | undefined): Promise<Loaded[]> {
  // When one input is refused the others' downloads are pointless: stop them.
  const stop = new AbortController()
  const linked = signal ? AbortSignal.any([signal, stop.signal]) : stop.signal
  const results = await Promise.allSettled(
    references.map(async ({ field, reference }) => {
      try {
        const { bytes, label } = await loadInput(field, reference, { ...context, signal: linked })
        return { field, label, checked: await checkImage(field, bytes, label) }
      } catch (error) {
        stop.abort()
        throw error
      }
    }),
  )
  const rejected = results.filter((result): result is PromiseRejectedResult => result.status === 'rejected')
  const refusal = rejected.find((result) => result.reason !== stop.signal.reason) ?? rejected[0]
  if (refusal) throw refusal.reason
  return results.map((result) => (result as PromiseFulfilledResult<Loaded>).value)
}

/**
 * A decoder failure while rebuilding an input that already decoded once in image-check (rare: a
 * file libvips reads for its header and rows but not for re-encoding) is the input's fault: a 400.
 */
function unprepared(field: InputField, label: string): (error: unknown) => never {
  return (error) => {
    if (error instanceof ImagegenError) throw error
    throw refuseInput(field, `${label} could not be rebuilt for upload (${(error as Error).message.split('\n')[0]}).`, 'input_undecodable')
  }
}

/** The image rebuilt from its picture (./clean.ts), then under the gateway's cap (./fit.ts), with a note for anything that cost quality. */
async function prepareImage({ field, label, checked }: Loaded): Promise<Prepared> {
  const named = `${field} (${label})`
  const clean = await cleanImage(checked).catch(unprepared(field, label))
  const fitted = await fitUnderCap(clean, { label: named, sourceBytes: checked.bytes.length }).catch(unprepared(field, label))
  if (!fitted) throw refuseInput(field, `${label} could not be brought under the gateway's ${megabytes(GATEWAY_MAX_INPUT_BYTES)} limit per reference image; crop or shrink it first.`, 'input_too_large')
  const note = fitted.note ?? (clean.reencoded ? `${named} was ${clean.reencoded}.` : undefined)
  return { clean, sent: fitted.image, note }
}
