/**
 * A plain HTTP server on a loopback port for URL inputs: each path answers with bytes, a redirect,
 * silence or an endless stream. It records every request so tests can tell whether a refused URL
 * was ever contacted.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export type Handler = (request: IncomingMessage, response: ServerResponse) => void

export type FileServer = {
  url: string
  /** Paths requested, in order. */
  requests: string[]
  close(): Promise<void>
}

export async function startFileServer(routes: Record<string, Handler>): Promise<FileServer> {
  const requests: string[] = []
  const server = createServer((request, response) => {
    const path = request.url ?? '/'
    requests.push(path)
    const handler = routes[path]
    if (!handler) return void response.writeHead(404, { 'content-type': 'text/plain' }).end('not found')
    handler(request, response)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

export const serveBytes =
  (bytes: Buffer, contentType = 'application/octet-stream', withLength = true): Handler =>
  (_request, response) => {
    response.writeHead(200, { 'content-type': contentType, ...(withLength ? { 'content-length': String(bytes.length) } : {}) })
    response.end(bytes)
  }

export const redirectTo =
  (location: string, status = 302): Handler =>
  (_request, response) =>
    void response.writeHead(status, { location }).end()

/** Accepts the request and never answers. */
export const hang = (): Handler => () => {}

/** Sends `head` then keeps sending chunks of `chunk` without end (no Content-Length). */
export const streamForever =
  (head: Buffer, chunk = Buffer.alloc(64 * 1024, 1)): Handler =>
  (_request, response) => {
    response.writeHead(200, { 'content-type': 'image/png' })
    response.write(head)
    const timer = setInterval(() => {
      if (response.destroyed) return clearInterval(timer)
      response.write(chunk)
    }, 1)
    response.on('close', () => clearInterval(timer))
  }
