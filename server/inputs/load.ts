/**
 * Gets the bytes behind one reference, whatever its form, with every guard of that form applied.
 * What the bytes are is checked afterwards, the same way for all forms (image-check).
 */
import type { ImageStore } from '../store/images.js'
import { dataUriLabel, decodeBase64, decodeDataUri } from './base64.js'
import { downloadImage } from './download.js'
import { readLocalFile } from './local-file.js'
import { ownImageName, readOwnImage } from './own-url.js'
import { parseReference } from './parse.js'
import { displayUrl, formatMegabytes, refuseInput, type InputField } from './refusal.js'

export type LoadContext = {
  maxBytes: number
  allowPrivateUrls: boolean
  store: ImageStore
  ownBaseUrl?: string | undefined
  signal?: AbortSignal | undefined
}

/** The bytes and how to name them in messages. */
export type LoadedInput = { bytes: Buffer; label: string }

export async function loadInput(field: InputField, reference: string, context: LoadContext): Promise<LoadedInput> {
  const parsed = parseReference(field, reference)
  switch (parsed.kind) {
    case 'data-uri':
      return { bytes: decodeDataUri(field, parsed.text, context.maxBytes), label: dataUriLabel(parsed.text) }
    case 'base64':
      return { bytes: decodeBase64(field, parsed.text, context.maxBytes), label: 'the base64 data' }
    case 'path':
      return { bytes: await readLocalFile(field, parsed.path, context.maxBytes), label: JSON.stringify(parsed.path) }
    case 'url': {
      const label = displayUrl(parsed.url)
      const ownName = ownImageName(parsed.url, context.ownBaseUrl)
      if (ownName !== undefined) {
        const bytes = await readOwnImage(field, parsed.url, ownName, context.store)
        if (bytes.length > context.maxBytes) throw refuseInput(field, `${label} is ${formatMegabytes(bytes.length)}; edit inputs may be at most ${formatMegabytes(context.maxBytes)}.`, 'input_too_large')
        return { bytes, label }
      }
      const bytes = await downloadImage(parsed.url, { field, maxBytes: context.maxBytes, allowPrivate: context.allowPrivateUrls, signal: context.signal })
      return { bytes, label }
    }
  }
}
