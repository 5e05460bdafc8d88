/**
 * A reference the resolver can act on, or a 400 saying why not (relative paths, foreign paths,
 * other schemes). The classification itself lives in ./reference.ts.
 */
import { classifyReference, type InputReference, type ReferenceContext } from './reference.js'
import { refuseInput, shorten, type InputField } from './refusal.js'

export function parseReference(field: InputField, reference: string, context: ReferenceContext = {}): InputReference {
  const classified = classifyReference(reference, context)
  if (classified.kind === 'refused') throw refuseInput(field, classified.reason, classified.code)
  if (classified.kind === 'relative')
    throw refuseInput(
      field,
      `${JSON.stringify(shorten(classified.path, 200))} is not a URL, an absolute path, a data URI or base64 image data. Relative paths are refused because the proxy's working directory is not yours: pass an absolute path (or ~/...).`,
      'input_relative_path',
    )
  return classified
}
