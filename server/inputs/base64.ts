/**
 * Decodes `data:` URIs and raw base64 into bytes. The size is checked from the text length before
 * decoding, and the text is validated first: Node's decoder silently skips characters it does not
 * know, which would turn a typo into a different (and probably broken) image.
 * The media type a data URI declares is ignored; the bytes are sniffed later.
 */
import { formatMegabytes, refuseInput, type InputField } from './refusal.js'

const BASE64_TEXT = /^[A-Za-z0-9+/_-]*={0,2}$/

export function decodeDataUri(field: InputField, uri: string, maxBytes: number): Buffer {
  const comma = uri.indexOf(',')
  const header = comma < 0 ? '' : uri.slice(5, comma)
  if (comma < 0) throw refuseInput(field, 'the data URI has no "," before its data.', 'invalid_data_uri')
  if (!/;base64$/i.test(header)) throw refuseInput(field, 'the data URI must be base64-encoded (data:image/png;base64,...).', 'invalid_data_uri')
  return decodeBase64(field, uri.slice(comma + 1), maxBytes, dataUriLabel(uri))
}

/**
 * How a data URI is named in messages. Uploads (multipart) carry the file's name as a `name`
 * parameter (RFC 2397 allows parameters), so the caller reads about "the uploaded file".
 */
export function dataUriLabel(uri: string): string {
  const header = uri.slice(5, Math.max(5, uri.indexOf(',')))
  const name = /;name=([^;,]*)/i.exec(header)?.[1]
  if (name === undefined) return 'the data URI'
  let decoded = name
  try {
    decoded = decodeURIComponent(name)
  } catch {
    // keep it as sent
  }
  return `the uploaded file ${JSON.stringify(decoded.slice(0, 100))}`
}

/** `label` names the input in messages ("the data URI", "the base64 data"). */
export function decodeBase64(field: InputField, text: string, maxBytes: number, label = 'the base64 data'): Buffer {
  const compact = /\s/.test(text) ? text.replace(/\s+/g, '') : text
  const padding = compact.endsWith('==') ? 2 : compact.endsWith('=') ? 1 : 0
  const decodedLength = Math.floor((compact.length * 3) / 4) - padding
  if (decodedLength > maxBytes)
    throw refuseInput(field, `${label} holds about ${formatMegabytes(decodedLength)}, over the ${formatMegabytes(maxBytes)} limit for edit inputs.`, 'input_too_large')
  if (!BASE64_TEXT.test(compact) || compact.length % 4 === 1) throw refuseInput(field, `${label} is not valid base64.`, 'invalid_base64')
  const bytes = Buffer.from(compact, 'base64')
  if (bytes.length === 0) throw refuseInput(field, `${label} is empty.`, 'input_empty')
  return bytes
}
