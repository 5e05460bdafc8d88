/**
 * Every refusal of an edit input is a 400 that names the field (`image`, `image[1]`, `mask`) and the thing
 * refused (the path, the URL, "the data URI"), and is raised before anything is uploaded or paid.
 * Messages never quote file contents or whole data URIs.
 */
import { ImagegenError, invalidRequest } from '../errors.js'

/**
 * The request field an input came from: `image` (one image), `image[i]` (one of several, counted
 * from 0 as in the JSON array) or `mask`. Messages start with it; `param` is the field's name.
 */
export type InputField = 'image' | 'mask' | `image[${number}]`

export function refuseInput(field: InputField, message: string, code: string): ImagegenError {
  return invalidRequest(`${field}: ${message}`, field === 'mask' ? 'mask' : 'image', code)
}

/** A URL as shown in messages: without user:password, and not absurdly long. */
export function displayUrl(url: URL | string): string {
  const copy = new URL(String(url))
  copy.username = ''
  copy.password = ''
  return shorten(copy.href, 200)
}

export function shorten(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`
}

/** Megabytes for people: 25 MB, 1.5 MB. */
export function formatMegabytes(bytes: number): string {
  const mb = bytes / (1024 * 1024)
  return `${Number.isInteger(mb) ? mb : mb.toFixed(1)} MB`
}
