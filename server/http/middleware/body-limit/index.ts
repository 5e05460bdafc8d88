/**
 * Body limit middleware: refuses a request body larger than `maxSize` with a 413, before it is
 * read. A declared `Content-Length` is checked from the header alone, so the body is left for the
 * route to read straight from the socket (@hono/node-server reads it without building a web
 * `Request` and stream first, a measurable share of a small request). Only chunked bodies, whose
 * size is unknown until the end, are counted as they stream, by hono's own `bodyLimit`.
 */
import type { Context, MiddlewareHandler } from 'hono'
import { bodyLimit as streamingBodyLimit } from 'hono/body-limit'

export type BodyLimitOptions = {
  maxSize: number
  /** Answers (or throws) when the body is too large. */
  onError: (c: Context) => Response | Promise<Response>
}

/** True when the request carries a body at all (HTTP/1.1: a length or a transfer coding). */
export function hasBody(c: Context): boolean {
  const length = c.req.header('content-length')
  return (length !== undefined && length !== '0') || c.req.header('transfer-encoding') !== undefined
}

export function bodyLimit({ maxSize, onError }: BodyLimitOptions): MiddlewareHandler {
  const streaming = streamingBodyLimit({ maxSize, onError })
  return async function bodyLimit(c, next) {
    const chunked = c.req.header('transfer-encoding') !== undefined
    const length = c.req.header('content-length')
    if (!chunked) {
      if (length === undefined) return next()
      // Node's parser has already refused a malformed length; this only compares it.
      return Number(length) > maxSize ? onError(c) : next()
    }
    return streaming(c, next)
  }
}
