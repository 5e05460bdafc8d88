/**
 * Receipts: every result carries a receipt id; `GET /v1/receipts/{id}` and `imagegen receipts`
 * join the index (receipts.jsonl) with the ledger; each file carries its model and receipt id in
 * its own metadata (PNG text chunks, a JPEG comment, WebP XMP) with its pixels untouched, and
 * never the prompt.
 */
import { createHash } from 'node:crypto'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { crc32 } from 'node:zlib'
import { join } from 'node:path'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ImageStore } from '../server/store/images.js'
import { readTags } from '../server/store/tags.js'
import { runCli } from './helpers/processes.js'
import { startStack, type Stack } from './helpers/stack.js'

/** The tEXt chunks of a PNG, each chunk's CRC checked with zlib's own crc32 (not ours). */
function pngTextChunks(bytes: Buffer): Array<{ keyword: string; text: string }> {
  const found = []
  for (let at = 8; at < bytes.length; ) {
    const length = bytes.readUInt32BE(at)
    const type = bytes.toString('latin1', at + 4, at + 8)
    expect(bytes.readUInt32BE(at + 8 + length), `${type} CRC`).toBe(crc32(bytes.subarray(at + 4, at + 8 + length)))
    if (type === 'tEXt') {
      const [keyword, text] = bytes.toString('latin1', at + 8, at + 8 + length).split('\0')
      found.push({ keyword: keyword!, text: text! })
    }
    at += 12 + length
  }
  return found
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex')

describe('receipts over HTTP and the CLI', () => {
  let stack: Stack
  beforeAll(async () => {
    stack = await startStack()
  })
  afterAll(() => stack.close())

  it("a result's receipt names its request, payment and files; the sha256 matches the file", async () => {
    const prompt = 'a private prompt about a red fox'
    const made = await stack.post('/v1/images/generations', { model: 'flux', prompt, n: 2, max_price: '0.05' })
    expect(made.status, JSON.stringify(made.body)).toBe(200)
    const id = made.body.receipt as string
    expect(id).toMatch(/^[0-9a-f-]{36}$/)
    const response = await stack.get(`/v1/receipts/${id}`)
    expect(response.status).toBe(200)
    const receipt = (await response.json()) as any
    expect(receipt.id).toBe(id)
    expect(receipt.request).toMatchObject({
      route: '/v1/images/generations',
      prompt_sha256: createHash('sha256').update(prompt).digest('hex'),
      model: 'xai/grok-imagine-image',
      requested_model: 'flux',
      size: '1024x1024',
      n: 2,
      max_price: '50000',
    })
    expect(receipt.request.notes[0]).toContain('"flux" ran on xai/grok-imagine-image')
    const transfer = stack.sandbox.usdc.transfers.at(-1)!
    expect(receipt.payment.pay_to.toLowerCase()).toBe(transfer.to.toLowerCase())
    expect(receipt.payment).toMatchObject({ amount: '43000', usd: '$0.043', chain: 'base', network: 'eip155:84532', payer: stack.wallet.address, transaction: transfer.transaction, status: 'settled' })
    expect(receipt.payment.authorizations).toEqual([expect.objectContaining({ amount: '43000', usd: '$0.043', status: 'settled' })])
    expect(receipt.outputs).toHaveLength(2)
    for (const [i, output] of receipt.outputs.entries()) {
      const bytes = await readFile(output.path)
      expect(output.sha256).toBe(sha256(bytes))
      expect(output.bytes).toBe(bytes.length)
      expect(output.url).toBe(`${stack.proxy.url}/images/${output.file}`)
      expect(made.body.data[i].sha256).toBe(output.sha256)
      // The file says which model made it and its receipt, in standard PNG text chunks; never the prompt.
      expect(readTags(bytes)).toEqual({ model: 'xai/grok-imagine-image', receipt: id })
      expect(pngTextChunks(bytes)).toEqual([
        { keyword: 'Software', text: 'blockrun-imagegen' },
        { keyword: 'Source', text: 'xai/grok-imagine-image' },
        { keyword: 'Receipt', text: id },
      ])
      expect(bytes.includes(Buffer.from('red fox'))).toBe(false)
    }
    // The prompt itself stays in the local index.
    expect(await readFile(join(stack.home, 'receipts.jsonl'), 'utf8')).toContain(prompt)
    const missing = await stack.get('/v1/receipts/not-a-receipt')
    expect(missing.status).toBe(404)
  })

  it('pages newest first; imagegen receipts prints them, as CSV too, without the prompt', async () => {
    await stack.post('/v1/images/generations', { model: 'gpt-image', prompt: 'second' })
    const first = (await (await stack.get('/v1/receipts?limit=1')).json()) as any
    expect(first.data).toHaveLength(1)
    expect(first.has_more).toBe(true)
    expect(first.data[0].request.model).toBe('openai/gpt-image-1')
    const rest = (await (await stack.get(`/v1/receipts?limit=10&before=${first.data[0].id}`)).json()) as any
    expect(rest.data.map((r: any) => r.request.model)).toEqual(['xai/grok-imagine-image'])
    expect(rest.has_more).toBe(false)

    const env = { BLOCKRUN_HOME: stack.home, BLOCKRUN_API_URL: stack.sandbox.url, BLOCKRUN_PROXY_PORT: String(stack.proxy.port) }
    const csv = await runCli(['receipts', '--csv'], { env })
    expect(csv.code, csv.stderr).toBe(0)
    const [header, ...rows] = csv.stdout.trim().split('\n')
    expect(header).toBe('created,id,model,size,n,usd,amount,network,pay_to,transaction,status,files,sha256,prompt_sha256')
    expect(rows).toHaveLength(2)
    const cells = rows[1]!.split(',')
    expect(cells.slice(2, 7)).toEqual(['xai/grok-imagine-image', '1024x1024', '2', '$0.043', '43000'])
    const [path] = cells[11]!.split(' ')
    expect(cells[12]!.split(' ')[0]).toBe(sha256(await readFile(path!)))
    expect(csv.stdout).not.toContain('red fox')
    const one = await runCli(['receipts', first.data[0].id], { env })
    expect(one.stdout).toContain(`${first.data[0].id}  openai/gpt-image-1 1024x1024  $0.022 settled`)
    expect(one.stdout).toMatch(/file {10}\S+\.png \(\d+ bytes, sha256 [0-9a-f]{64}\)/)
  })
})

describe('tags in the image files', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'imagegen-tags-'))
  })
  afterAll(() => rm(dir, { recursive: true, force: true }))

  const pixels = async (bytes: Buffer) => (await sharp(bytes).raw().toBuffer()).toString('base64')
  const base = () => sharp({ create: { width: 37, height: 21, channels: 4, background: { r: 200, g: 30, b: 90, alpha: 0.5 } } })
  const tags = { model: 'google/nano-banana', receipt: 'a0b1c2d3-0000-4000-8000-00000000abcd' }

  it.each([
    ['PNG', () => base().png().toBuffer()],
    ['JPEG (JFIF)', () => base().jpeg({ quality: 90 }).toBuffer()],
    ['JPEG with EXIF', () => base().jpeg().withMetadata().toBuffer()],
    ['WebP, lossy (VP8)', () => base().webp({ quality: 80 }).toBuffer()],
    ['WebP, lossless with alpha (VP8L)', () => base().webp({ lossless: true }).toBuffer()],
    ['WebP, extended (VP8X with ICC)', () => base().webp().withMetadata({ icc: 'srgb' }).toBuffer()],
  ])('%s: the file carries the model and receipt, its pixels unchanged, streamed in small pieces', async (_name, make) => {
    const original = await make()
    const store = new ImageStore(dir)
    const writer = store.writer({ tags })
    for (let i = 0; i < original.length; i += 7) await writer.write(original.subarray(i, i + 7))
    const stored = await writer.finish()
    const bytes = await readFile(stored.path)
    expect(bytes.length).toBeGreaterThan(original.length)
    expect(stored.sha256).toBe(sha256(bytes))
    expect(stored.bytes).toBe(bytes.length)
    expect(readTags(bytes)).toEqual(tags)
    expect(await pixels(bytes)).toBe(await pixels(original))
    const meta = await sharp(bytes).metadata()
    expect(`${meta.width}x${meta.height}`).toBe('37x21')
    if (stored.mimeType === 'image/webp') {
      // libwebp itself reads the XMP chunk back, and the RIFF size is the file's.
      expect(meta.xmp?.toString()).toContain(`imagegen:receipt="${tags.receipt}"`)
      expect(bytes.readUInt32LE(4) + 8).toBe(bytes.length)
      expect(meta.hasAlpha).toBe((await sharp(original).metadata()).hasAlpha)
    }
    if (stored.mimeType === 'image/jpeg') {
      // The comment is inserted after the APPn segments (a JFIF or EXIF header stays first): the rest is the original's.
      const at = bytes.indexOf(Buffer.from([0xff, 0xfe]))
      expect(bytes.subarray(0, at).equals(original.subarray(0, at))).toBe(true)
      expect(bytes.subarray(at + 2 + bytes.readUInt16BE(at + 2)).equals(original.subarray(at))).toBe(true)
      expect((await sharp(original).metadata()).exif?.length).toBe(meta.exif?.length)
    }
  })
})
