/**
 * The InputResolver the service uses for edits: load each reference (./load.ts), check that the
 * bytes are an image (./image-check.ts), check the mask against the image (./mask.ts), and hand
 * back the checked bytes, which the request body sends as data URIs. Image and mask load in
 * parallel; the first refusal stops the other, and the image's refusal is the one reported when
 * both are refused.
 */
import type { Settings } from '../config.js'
import type { ImageStore } from '../store/images.js'
import { checkImage, type CheckedImage } from './image-check.js'
import { loadInput, type LoadContext } from './load.js'
import { prepareMask } from './mask.js'
import type { InputField } from './refusal.js'
import type { InputResolver, ResolvedInputs } from './resolve.js'
import { InlineData } from '../upstream/request-body.js'

export type { InputResolver, ResolvedInputs, ResolveParameters } from './resolve.js'
export { absolutizeReference, classifyReference } from './reference.js'

export type InputResolverParameters = {
  settings: Pick<Settings, 'maxInputBytes' | 'allowPrivateUrls'>
  /** The store whose images may be referenced by URL (`/images/<file>`); read lazily. */
  store: () => ImageStore
}

export function createInputResolver({ settings, store }: InputResolverParameters): InputResolver {
  return {
    async resolve({ image, mask, signal, ownBaseUrl }): Promise<ResolvedInputs> {
      // When one input is refused the other's download is pointless: stop it.
      const stop = new AbortController()
      const linked = signal ? AbortSignal.any([signal, stop.signal]) : stop.signal
      const context: LoadContext = { maxBytes: settings.maxInputBytes, allowPrivateUrls: settings.allowPrivateUrls, store: store(), ownBaseUrl, signal: linked }
      const stopOnFailure = <T>(work: Promise<T>) =>
        work.catch((error: unknown) => {
          stop.abort()
          throw error
        })
      const [imageResult, maskResult] = await Promise.allSettled([
        stopOnFailure(loadAndCheck('image', image, context)),
        mask === undefined ? Promise.resolve(undefined) : stopOnFailure(loadAndCheck('mask', mask, context)),
      ])
      // The image's own refusal wins; an image download we stopped because the mask failed does not.
      if (maskResult.status === 'rejected' && (imageResult.status === 'fulfilled' || imageResult.reason === stop.signal.reason)) throw maskResult.reason
      if (imageResult.status === 'rejected') throw imageResult.reason
      if (maskResult.status === 'rejected') throw maskResult.reason
      const checkedImage = imageResult.value
      const checkedMask = maskResult.value && (await prepareMask(checkedImage, maskResult.value))
      return { image: inline(checkedImage), ...(checkedMask ? { mask: inline(checkedMask) } : {}) }
    },
  }
}

async function loadAndCheck(field: InputField, reference: string, context: LoadContext): Promise<CheckedImage> {
  const { bytes, label } = await loadInput(field, reference, context)
  return checkImage(field, bytes, label)
}

function inline(image: CheckedImage): InlineData {
  return new InlineData(image.type.mime, image.bytes)
}
