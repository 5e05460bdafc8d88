/**
 * The gallery for agents: the MCP server lists the images made as resources, newest first and in
 * pages, each readable (the picture and its receipt), tells the client when a new one arrives,
 * and shows ClawRouter's images in the shared folder as made elsewhere. Through the built CLI.
 */
import { createHash } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ResourceListChangedNotificationSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startMcp, startWorld, type McpRun, type World } from './helpers/mcp.js'
import { spawnProxy } from './helpers/processes.js'

describe('MCP resources: the gallery for agents', () => {
  let world: World
  let mcp: McpRun
  let changes = 0
  const made: Array<{ file: string; path: string; prompt: string; receipt: string }> = []

  beforeAll(async () => {
    world = await startWorld()
    mcp = await startMcp(world.env)
    mcp.client.setNotificationHandler(ResourceListChangedNotificationSchema, () => void changes++)
  })
  afterAll(async () => {
    await mcp?.close()
    await world?.close()
  })

  it('advertises resources (with list_changed) and lists none before anything is made', async () => {
    expect(mcp.client.getServerCapabilities()?.resources).toEqual({ listChanged: true })
    expect((await mcp.client.listResources()).resources).toEqual([])
    const { resourceTemplates } = await mcp.client.listResourceTemplates()
    expect(resourceTemplates.map((t) => t.uriTemplate)).toEqual(['imagegen://images/{file}', 'imagegen://receipts/{id}'])
  })

  it('lists each image made, newest first, with its prompt, model, cost and receipt, and says the list changed', async () => {
    for (const prompt of ['a red fox in snow', 'a lighthouse at dusk', 'a heron in the reeds']) {
      const result = (await mcp.client.callTool({ name: 'generate_image', arguments: { prompt } })) as CallToolResult
      expect(result.isError, JSON.stringify(result)).toBeFalsy()
      const text = (result.content[0] as { text: string }).text
      const path = /^Image 1: (\S+)$/m.exec(text)![1]!
      made.push({ file: path.slice(path.lastIndexOf('/') + 1), path, prompt, receipt: /Receipt: (\S+)\.$/m.exec(text)![1]! })
    }
    await expect.poll(() => changes).toBeGreaterThanOrEqual(3)
    const { resources, nextCursor } = await mcp.client.listResources()
    expect(nextCursor).toBeUndefined()
    expect(resources.map((r) => r.uri)).toEqual([...made].reverse().map((m) => `imagegen://images/${m.file}`))
    const newest = resources[0]!
    expect(newest).toMatchObject({ name: made[2]!.file, title: 'a heron in the reeds', mimeType: 'image/png' })
    expect(newest.description).toMatch(/^google\/nano-banana 1024x1024, \$0\.0535 on Base Sepolia, \d{4}-.*, receipt /)
    expect(newest.description).toContain(made[2]!.receipt)
    expect(newest.size).toBeGreaterThan(1000)
  })

  it('reads an image: its bytes and its receipt as JSON; a receipt alone; refuses what is not there', async () => {
    const m = made[0]!
    const { contents } = await mcp.client.readResource({ uri: `imagegen://images/${m.file}` })
    const [image, receipt] = contents as any[]
    expect(image).toMatchObject({ uri: `imagegen://images/${m.file}`, mimeType: 'image/png' })
    const bytes = Buffer.from(image.blob, 'base64')
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(createHash('sha256').update(await readFile(m.path)).digest('hex'))
    expect(receipt).toMatchObject({ uri: `imagegen://receipts/${m.receipt}`, mimeType: 'application/json' })
    const detail = JSON.parse(receipt.text)
    expect(detail).toMatchObject({ file: m.file, prompt: m.prompt, model: 'google/nano-banana', path: m.path, cost: { usd: '$0.0535', status: 'settled' } })
    expect(detail.receipt_view.payment.transaction).toMatch(/^0x[0-9a-f]{64}$/)
    const alone = await mcp.client.readResource({ uri: `imagegen://receipts/${m.receipt}` })
    expect(JSON.parse((alone.contents[0] as { text: string }).text)).toMatchObject({ id: m.receipt, request: { model: 'google/nano-banana' } })
    for (const uri of ['imagegen://images/..%2Fwallet.key', 'imagegen://images/1795552360411-00a37b700bf718a2.png', 'imagegen://receipts/nope', 'file:///etc/passwd', 'imagegen://images/%E0%A4%A', 'imagegen://receipts/%'])
      await expect(mcp.client.readResource({ uri }), uri).rejects.toThrow(/No (image|receipt) at/)
  })

  it("pages with a cursor, and shows ClawRouter's images in the shared folder as made elsewhere", async () => {
    const png = await readFile(made[0]!.path)
    const file = `${Date.now()}-abc123.png`
    await writeFile(join(world.home, 'images', file), png)
    const first = await mcp.client.listResources()
    expect(first.resources[0]).toMatchObject({ uri: `imagegen://images/${file}`, title: 'made elsewhere (ClawRouter)' })
    const { contents } = await mcp.client.readResource({ uri: `imagegen://images/${file}` })
    expect(contents).toHaveLength(1)
    expect(Buffer.from((contents[0] as { blob: string }).blob, 'base64').equals(png)).toBe(true)
    await expect(mcp.client.listResources({ cursor: 'not-a-file' })).rejects.toThrow(/Unknown cursor/)
    // The last page's cursor: everything older than the oldest is nothing.
    expect((await mcp.client.listResources({ cursor: made[0]!.file })).resources).toEqual([])
    expect((await mcp.client.listResources({ cursor: made[2]!.file })).resources.map((r) => r.name)).toEqual([made[1]!.file, made[0]!.file])
  })
})

describe('MCP resources through a proxy of ours', () => {
  it('lists and reads the proxy\'s images (the remote core asks its /v1/gallery)', async () => {
    const world = await startWorld()
    const proxy = await spawnProxy({ home: world.home, upstream: world.sandbox.url })
    const mcp = await startMcp({ ...world.env, BLOCKRUN_PROXY_PORT: String(proxy.port) })
    try {
      const made = await fetch(`${proxy.url}/v1/images/generations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'a moth on a lamp' }) })
      const body = (await made.json()) as any
      expect(made.status).toBe(200)
      const { resources } = await mcp.client.listResources()
      expect(mcp.stderr()).toContain(`using the imagegen proxy at http://127.0.0.1:${proxy.port}`)
      expect(resources.map((r) => [r.uri, r.title])).toEqual([[`imagegen://images/${body.data[0].file}`, 'a moth on a lamp']])
      const { contents } = await mcp.client.readResource({ uri: resources[0]!.uri })
      expect(Buffer.from((contents[0] as { blob: string }).blob, 'base64').equals(await readFile(body.data[0].path))).toBe(true)
      expect(JSON.parse((contents[1] as { text: string }).text)).toMatchObject({ receipt: body.receipt, cost: { amount: body.cost.amount } })
    } finally {
      await mcp.close()
      await proxy.stop()
      await world.close()
    }
  })
})
