/**
 * Reads the bodies that are not images (402 requirements, errors, job tickets and polls in
 * progress) with a size bound: a hostile or broken upstream must not make the proxy buffer
 * gigabytes. Image results go through `result-body.ts`, which streams to disk instead.
 */
export const SMALL_BODY_LIMIT = 256 * 1024

export class BodyTooLargeError extends Error {
  override name = 'BodyTooLargeError'
}

/**
 * The body parsed as JSON, or its text when it is not JSON, or undefined when empty. Throws when
 * the connection fails mid-body, and BodyTooLargeError past `limit` bytes (the rest is discarded).
 */
export async function readSmallBody(response: Response, limit = SMALL_BODY_LIMIT): Promise<unknown> {
  if (!response.body) return undefined
  const reader = response.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > limit) {
      await reader.cancel().catch(() => {})
      throw new BodyTooLargeError(`The upstream's answer is larger than ${limit} bytes.`)
    }
    chunks.push(value)
  }
  const text = Buffer.concat(chunks).toString('utf8')
  if (!text) return undefined
  try {
    return JSON.parse(text) as unknown
  } catch {
    return text
  }
}
