import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ImagegenError } from '../server/errors.js'
import { downloadImage, type DownloadOptions } from '../server/inputs/download.js'
import { makeImage } from './helpers/images.js'
import { hang, redirectTo, serveBytes, startFileServer, streamForever, type FileServer } from './helpers/file-server.js'

/** The refusal a download ends in (a 400 naming the field), or a failure if it succeeded. */
async function refusal(promise: Promise<unknown>): Promise<ImagegenError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error, 'expected a refusal').toBeInstanceOf(ImagegenError)
  expect((error as ImagegenError).status).toBe(400)
  return error as ImagegenError
}

describe('safe downloads', () => {
  let server: FileServer
  let png: Buffer
  const open: DownloadOptions = { field: 'image', maxBytes: 1024 * 1024, allowPrivate: true }
  const closed: DownloadOptions = { ...open, allowPrivate: false }

  beforeAll(async () => {
    png = await makeImage(64, 64)
    server = await startFileServer({
      '/photo.png': serveBytes(png, 'text/plain'),
      '/chunked.png': serveBytes(png, 'image/png', false),
      '/page.html': serveBytes(Buffer.from('<!doctype html><html><body>hello</body></html>'), 'image/png'),
      '/hop1': redirectTo('/hop2', 301),
      '/hop2': redirectTo('/hop3', 307),
      '/hop3': redirectTo('/photo.png', 308),
      '/loop': redirectTo('/loop'),
      '/to-metadata': redirectTo('http://169.254.169.254/latest/meta-data/iam/security-credentials/'),
      '/to-ftp': redirectTo('ftp://example.com/x.png'),
      '/to-file': redirectTo('file:///etc/passwd'),
      '/huge-declared': (_q, s) => void s.writeHead(200, { 'content-length': String(50 * 1024 * 1024) }).end(),
      '/endless.png': streamForever(png.subarray(0, 64)),
      '/hang': hang(),
      '/missing': (_q, s) => void s.writeHead(404).end(),
    })
  })
  afterAll(async () => server.close())

  it('downloads an image, judged by its bytes (not its Content-Type), with or without Content-Length', async () => {
    expect((await downloadImage(new URL(`${server.url}/photo.png`), open)).equals(png)).toBe(true)
    expect((await downloadImage(new URL(`${server.url}/chunked.png`), open)).equals(png)).toBe(true)
  })

  it('follows a few redirects and gives up after more', async () => {
    expect((await downloadImage(new URL(`${server.url}/hop1`), open)).equals(png)).toBe(true)
    const error = await refusal(downloadImage(new URL(`${server.url}/hop1`), { ...open, maxRedirects: 2 }))
    expect(error.code).toBe('too_many_redirects')
    const loops = server.requests.filter((p) => p === '/loop').length
    await refusal(downloadImage(new URL(`${server.url}/loop`), open))
    expect(server.requests.filter((p) => p === '/loop').length - loops).toBe(4)
  })

  it('refuses loopback addresses without allowPrivate, before connecting', async () => {
    const before = server.requests.length
    const literal = await refusal(downloadImage(new URL(`${server.url}/photo.png`), closed))
    expect(literal.code).toBe('url_address_refused')
    expect(literal.message).toContain(`${server.url}/photo.png`)
    expect(literal.message).toContain('127.0.0.1 is a loopback address')
    expect(literal.message).toContain('BLOCKRUN_ALLOW_PRIVATE_URLS')
    // A host name is resolved first and judged by its addresses.
    const named = await refusal(downloadImage(new URL(`${server.url.replace('127.0.0.1', 'localhost')}/photo.png`), closed))
    expect(named.code).toBe('url_address_refused')
    expect(named.message).toMatch(/localhost resolves to a loopback address/)
    expect(server.requests.length).toBe(before)
  })

  it('judges IP literals in every spelling the URL parser accepts, without connecting', async () => {
    for (const spelling of ['http://2130706433/x.png', 'http://0x7f.1/x.png', 'http://[::ffff:127.0.0.1]/x.png', 'http://[::1]/x.png', 'http://0.0.0.0/x.png', 'http://169.254.169.254/x.png', 'http://[fd00:ec2::254]/x.png']) {
      const error = await refusal(downloadImage(new URL(spelling), closed))
      expect(error.code, spelling).toBe('url_address_refused')
    }
    expect((await refusal(downloadImage(new URL('http://169.254.169.254/x.png'), open))).message).toContain('cloud metadata')
  })

  it('re-checks every redirect: metadata, other schemes and (without allowPrivate) loopback names are refused', async () => {
    const metadata = await refusal(downloadImage(new URL(`${server.url}/to-metadata`), open))
    expect(metadata.code).toBe('url_address_refused')
    expect(metadata.message).toContain(`http://169.254.169.254/latest/meta-data/iam/security-credentials/ (redirected from ${server.url}/to-metadata) is refused`)
    expect(metadata.message).toContain('cloud metadata')
    expect((await refusal(downloadImage(new URL(`${server.url}/to-ftp`), open))).code).toBe('url_scheme_refused')
    expect((await refusal(downloadImage(new URL(`${server.url}/to-file`), open))).code).toBe('url_scheme_refused')
  })

  it('refuses what is not an image, and failed downloads, naming the URL', async () => {
    const page = await refusal(downloadImage(new URL(`${server.url}/page.html`), open))
    expect(page.code).toBe('input_not_image')
    const missing = await refusal(downloadImage(new URL(`${server.url}/missing`), open))
    expect(missing.message).toBe(`image: downloading ${server.url}/missing failed: HTTP 404.`)
    const refused = await refusal(downloadImage(new URL('http://127.0.0.1:9/x.png'), open))
    expect(refused.message).toContain('connection refused')
  })

  it('caps the size: early from Content-Length, and while streaming without one', async () => {
    const declared = await refusal(downloadImage(new URL(`${server.url}/huge-declared`), open))
    expect(declared.code).toBe('input_too_large')
    const started = Date.now()
    const streamed = await refusal(downloadImage(new URL(`${server.url}/endless.png`), open))
    expect(streamed.code).toBe('input_too_large')
    expect(streamed.message).toContain('more than 1 MB')
    expect(Date.now() - started).toBeLessThan(10_000)
  })

  it('times out a server that never answers', async () => {
    const started = Date.now()
    const total = await refusal(downloadImage(new URL(`${server.url}/hang`), { ...open, timeoutMs: 300 }))
    expect(total.code).toBe('download_timeout')
    expect(Date.now() - started).toBeLessThan(3000)
    const idle = await refusal(downloadImage(new URL(`${server.url}/hang`), { ...open, idleTimeoutMs: 200 }))
    expect(idle.code).toBe('download_timeout')
  })

  it('stops when the caller cancels', async () => {
    const controller = new AbortController()
    setTimeout(() => controller.abort(new DOMException('cancelled', 'AbortError')), 100)
    const error = await downloadImage(new URL(`${server.url}/hang`), { ...open, signal: controller.signal }).catch((e: unknown) => e)
    expect((error as Error).name).toBe('AbortError')
  })
})
