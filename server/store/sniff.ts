/**
 * Image type from the bytes themselves, never from a name or a header a server chose.
 */
export type ImageType = { mime: 'image/png' | 'image/jpeg' | 'image/webp'; ext: 'png' | 'jpg' | 'webp' }

export const PNG: ImageType = { mime: 'image/png', ext: 'png' }
export const JPEG: ImageType = { mime: 'image/jpeg', ext: 'jpg' }
export const WEBP: ImageType = { mime: 'image/webp', ext: 'webp' }

/** Needs the first 12 bytes. */
export function sniffImage(head: Uint8Array): ImageType | undefined {
  if (head.length >= 8 && head[0] === 0x89 && head[1] === 0x50 && head[2] === 0x4e && head[3] === 0x47 && head[4] === 0x0d && head[5] === 0x0a && head[6] === 0x1a && head[7] === 0x0a) return PNG
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return JPEG
  if (head.length >= 12 && ascii(head, 0, 4) === 'RIFF' && ascii(head, 8, 12) === 'WEBP') return WEBP
  return undefined
}

export function imageTypeForExtension(ext: string): ImageType | undefined {
  return [PNG, JPEG, WEBP].find((t) => t.ext === ext || (ext === 'jpeg' && t === JPEG))
}

function ascii(bytes: Uint8Array, from: number, to: number): string {
  return String.fromCharCode(...bytes.subarray(from, to))
}
