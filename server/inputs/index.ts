/**
 * Builds the InputResolver the service uses for edits. This first version takes local files and
 * data URIs; URLs and the proxy's own image URLs follow in the editing work.
 */
import { readFile } from 'node:fs/promises'
import type { Settings } from '../config.js'
import { invalidRequest } from '../errors.js'
import type { ImageStore } from '../store/images.js'
import { sniffImage } from '../store/sniff.js'
import { expandHome } from '../config.js'
import type { InputResolver } from './resolve.js'

export type InputResolverParameters = {
  settings: Settings
  /** The store whose images may be referenced by URL (`/images/<file>`). */
  store: () => ImageStore
}

export function createInputResolver({ settings }: InputResolverParameters): InputResolver {
  const load = async (field: string, ref: string): Promise<string> => {
    let bytes: Buffer
    if (ref.startsWith('data:')) {
      bytes = Buffer.from(ref.slice(ref.indexOf(',') + 1), 'base64')
    } else {
      bytes = await readFile(expandHome(ref)).catch(() => {
        throw invalidRequest(`${field}: cannot read ${ref}.`, field, 'input_unreadable')
      })
    }
    if (bytes.length > settings.maxInputBytes) throw invalidRequest(`${field}: larger than ${settings.maxInputBytes} bytes.`, field, 'input_too_large')
    const type = sniffImage(bytes.subarray(0, 12))
    if (!type) throw invalidRequest(`${field}: ${ref.startsWith('data:') ? 'the data URI' : ref} is not a PNG, JPEG or WebP image.`, field, 'input_not_image')
    return `data:${type.mime};base64,${bytes.toString('base64')}`
  }
  return {
    async resolve({ image, mask }) {
      return { image: await load('image', image), ...(mask ? { mask: await load('mask', mask) } : {}) }
    },
  }
}
