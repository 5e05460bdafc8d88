/**
 * The MCP server's parts on their own: the preview renderer (shared with the OpenClaw plugin), the
 * preview setting, the progress heartbeat and the schema flattening. Real sharp, real timers.
 */
import { randomBytes } from 'node:crypto'
import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import { plainInputSchema } from '../plugin/mcp/schema.js'
import { progressReporter, type ProgressParams } from '../plugin/mcp/progress.js'
import { MAX_PREVIEW_BASE64_CHARS, previewSettingFrom, renderPreview } from '../plugin/preview.js'
import { TOOLS } from '../plugin/tools.js'

async function decode(base64: string) {
  return sharp(Buffer.from(base64, 'base64')).metadata()
}

describe('renderPreview', () => {
  it('downscales an opaque PNG to a JPEG with a 512 px long edge', async () => {
    const png = await sharp({ create: { width: 1792, height: 1024, channels: 3, background: '#884422' } }).png().toBuffer()
    const preview = await renderPreview(png)
    expect(preview.mimeType).toBe('image/jpeg')
    const meta = await decode(preview.data)
    expect(meta.format).toBe('jpeg')
    expect([meta.width, meta.height]).toEqual([512, 293])
    expect([preview.width, preview.height]).toEqual([512, 293])
  })

  it('keeps transparency as WebP', async () => {
    const png = await sharp({ create: { width: 1024, height: 1024, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } }).png().toBuffer()
    const preview = await renderPreview(png, { maxEdge: 300 })
    expect(preview.mimeType).toBe('image/webp')
    const meta = await decode(preview.data)
    expect(meta.format).toBe('webp')
    expect(meta.hasAlpha).toBe(true)
    expect(meta.width).toBe(300)
  })

  it('never enlarges a small image', async () => {
    const png = await sharp({ create: { width: 200, height: 100, channels: 3, background: '#000' } }).png().toBuffer()
    const meta = await decode((await renderPreview(png)).data)
    expect([meta.width, meta.height]).toEqual([200, 100])
  })

  it('fits incompressible noise in the budget by lowering quality, then size', async () => {
    const noise = await sharp(randomBytes(1600 * 1600 * 3), { raw: { width: 1600, height: 1600, channels: 3 } }).png({ compressionLevel: 0 }).toBuffer()
    const preview = await renderPreview(noise, { maxEdge: 1600 })
    expect(preview.data.length).toBeLessThanOrEqual(MAX_PREVIEW_BASE64_CHARS)
    expect(preview.data.length).toBeLessThan(100_000)
    const meta = await decode(preview.data)
    // Noise this large cannot fit at 1600 px: the edge had to come down.
    expect(Math.max(meta.width!, meta.height!)).toBeLessThan(1600)
  })

  it('reads a file path and rejects what is not an image', async () => {
    await expect(renderPreview(Buffer.from('not an image at all'))).rejects.toThrow()
    await expect(renderPreview('/nonexistent/image.png')).rejects.toThrow(/ENOENT/)
  })
})

describe('previewSettingFrom (IMAGEGEN_MCP_PREVIEW)', () => {
  it('defaults to 512 px, turns off, takes a size and clamps it', () => {
    expect(previewSettingFrom(undefined)).toEqual({ enabled: true, maxEdge: 512 })
    expect(previewSettingFrom('')).toEqual({ enabled: true, maxEdge: 512 })
    for (const off of ['off', 'OFF', '0', 'false', 'none']) expect(previewSettingFrom(off)).toEqual({ enabled: false })
    expect(previewSettingFrom('256')).toEqual({ enabled: true, maxEdge: 256 })
    expect(previewSettingFrom('768px')).toEqual({ enabled: true, maxEdge: 768 })
    const warnings: string[] = []
    expect(previewSettingFrom('9000', (w) => warnings.push(w))).toEqual({ enabled: true, maxEdge: 2000 })
    expect(previewSettingFrom('big', (w) => warnings.push(w))).toEqual({ enabled: true, maxEdge: 512 })
    expect(warnings).toHaveLength(2)
    expect(warnings[1]).toContain('"big"')
  })
})

describe('progressReporter', () => {
  it('fills silences with a heartbeat and keeps progress growing', async () => {
    const sent: Array<ProgressParams & { at: number }> = []
    const started = Date.now()
    const reporter = progressReporter({ token: 'tok', heartbeatMs: 400, send: async (p) => void sent.push({ ...p, at: Date.now() }) })
    reporter.update({ message: 'requesting', elapsedMs: 0 })
    await new Promise((r) => setTimeout(r, 1300))
    reporter.stop()
    const count = sent.length
    await new Promise((r) => setTimeout(r, 500))
    expect(sent.length).toBe(count)
    expect(count).toBeGreaterThanOrEqual(3)
    expect(sent[0]!.message).toBe('requesting')
    expect(sent.slice(1).every((p) => /^requesting \(still working, \d+ s\)$/.test(p.message))).toBe(true)
    const times = [started, ...sent.map((p) => p.at)]
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeLessThanOrEqual(400 + 100)
    for (let i = 1; i < sent.length; i++) expect(sent[i]!.progress).toBeGreaterThan(sent[i - 1]!.progress)
    expect(sent.every((p) => p.progressToken === 'tok')).toBe(true)
  })

  it('sends nothing without a progress token', async () => {
    let sent = 0
    const reporter = progressReporter({ token: undefined, heartbeatMs: 50, send: async () => void sent++ })
    reporter.update({ message: 'x', elapsedMs: 0 })
    await new Promise((r) => setTimeout(r, 200))
    reporter.stop()
    expect(sent).toBe(0)
  })
})

describe('plainInputSchema', () => {
  it('keeps every tool schema plain and drops empty required lists', () => {
    for (const tool of TOOLS) {
      const schema = plainInputSchema(tool.inputSchema, tool.name)
      expect(schema.type).toBe('object')
      expect(schema.required === undefined || schema.required.length > 0).toBe(true)
    }
  })

  it('refuses references anywhere in a schema', () => {
    expect(() => plainInputSchema({ type: 'object', properties: { a: { $ref: '#/$defs/a' } } }, 't')).toThrow(/\$ref/)
    expect(() => plainInputSchema({ type: 'array' }, 't')).toThrow(/object/)
  })
})
