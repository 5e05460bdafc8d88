/**
 * What an `image` or `mask` string refers to, decided from its text alone (nothing is read or
 * fetched here): a data URI, raw base64, an http(s) URL, or an absolute local path (POSIX,
 * Windows drive or long paths, `~/`, `file://`).
 *
 * Refused outright, whatever the platform:
 * - relative paths: the proxy's working directory is not the caller's, so "photo.png" would read
 *   some other file (the CLI makes its own relative paths absolute before sending them);
 * - schemes other than http, https, file and data;
 * - Windows network shares and device paths (`\\server\share`, `\\.\`): opening one makes Windows
 *   connect to that server and offer the user's credentials.
 */
import { homedir } from 'node:os'
import { posix, win32, resolve as resolvePath } from 'node:path'
import { fileURLToPath } from 'node:url'
import { shorten } from './refusal.js'
import { sniffImage } from '../store/sniff.js'

export type InputReference =
  | { kind: 'data-uri'; text: string }
  | { kind: 'base64'; text: string }
  | { kind: 'url'; url: URL }
  | { kind: 'path'; path: string }

export type ReferenceClassification =
  | InputReference
  | { kind: 'relative'; path: string }
  | { kind: 'refused'; reason: string; code: string }

export type ReferenceContext = {
  /** The platform whose path rules apply (default: this process's). */
  platform?: NodeJS.Platform
  /** What `~` means (default: the user's home directory). */
  home?: string
}

/** Characters of raw base64 (standard or URL-safe), whitespace removed. */
const BASE64_TEXT = /^[A-Za-z0-9+/_-]+={0,2}$/
/** Shorter strings are names, not image data: no real image encodes in fewer characters. */
const MIN_BASE64_CHARS = 64

export function classifyReference(reference: string, context: ReferenceContext = {}): ReferenceClassification {
  const platform = context.platform ?? process.platform
  const windows = platform === 'win32'
  const text = reference.trim()
  const quoted = JSON.stringify(shorten(text, 200))

  if (/^data:/i.test(text)) return { kind: 'data-uri', text }

  if (/^[a-z]:[\\/]/i.test(text)) {
    if (windows) return { kind: 'path', path: win32.normalize(text) }
    return { kind: 'refused', code: 'input_foreign_path', reason: `${quoted} is a Windows path, but this proxy runs on ${platform}; pass a path on this machine.` }
  }

  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(text)?.[1]?.toLowerCase()
  if (scheme === 'http' || scheme === 'https') {
    if (!URL.canParse(text)) return { kind: 'refused', code: 'invalid_url', reason: `${quoted} is not a valid URL.` }
    return { kind: 'url', url: new URL(text) }
  }
  if (scheme === 'file') {
    try {
      return { kind: 'path', path: fileURLToPath(text) }
    } catch {
      return { kind: 'refused', code: 'invalid_file_url', reason: `${quoted} is not a file URL on this machine.` }
    }
  }
  if (scheme) return { kind: 'refused', code: 'url_scheme_refused', reason: `${quoted} uses ${scheme}://; only http and https URLs are downloaded.` }

  if (/^\\\\/.test(text) || (windows && /^\/\//.test(text))) {
    if (windows && /^\\\\\?\\[a-z]:\\/i.test(text)) return { kind: 'path', path: text }
    return { kind: 'refused', code: 'input_network_path', reason: `${quoted} is a network share or device path; copy the file to this machine and pass its local path.` }
  }

  if (text === '~' || text.startsWith('~/') || (windows && text.startsWith('~\\'))) {
    const home = context.home ?? homedir()
    return { kind: 'path', path: (windows ? win32 : posix).join(home, text.slice(1)) }
  }

  if (looksLikeBase64(text)) return { kind: 'base64', text }

  if (windows ? win32.isAbsolute(text) : text.startsWith('/')) return { kind: 'path', path: text }

  return { kind: 'relative', path: text }
}

/**
 * For front doors that know the caller's working directory (the CLI): a relative path becomes
 * absolute; anything else is returned unchanged for the proxy to judge.
 */
export function absolutizeReference(reference: string, cwd: string, context: ReferenceContext = {}): string {
  const classified = classifyReference(reference, context)
  return classified.kind === 'relative' ? resolvePath(cwd, classified.path) : reference
}

/**
 * Raw base64 image data, not a path. A JPEG's base64 begins with "/9j/", which also reads as an
 * absolute path, so the decoded head is sniffed: image bytes decide it. Long base64-only text that
 * cannot be a path (no leading slash) is taken as base64 too, and refused later as "not an image".
 */
function looksLikeBase64(text: string): boolean {
  const compact = text.replace(/\s+/g, '')
  if (compact.length < MIN_BASE64_CHARS || !BASE64_TEXT.test(compact)) return false
  if (sniffImage(Buffer.from(compact.slice(0, 16), 'base64'))) return true
  return !compact.startsWith('/')
}
