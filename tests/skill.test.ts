/**
 * The skill is a contract an agent acts on, so every fact in it is checked against the code:
 * the two copies are one text, the frontmatter is what OpenClaw and Claude Code parse, the model
 * table and size rules match the catalog, the tool signatures match the tool schemas, and every
 * HTTP example runs against the real proxy in front of the sandbox and answers as shown.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bundledCatalog, DEFAULT_EDIT_MODEL, type ModelEntry } from '../server/catalog/index.js'
import { formatUsd } from '../server/money.js'
import { TOOLS } from '../plugin/tools.js'
import { startStack, type Stack } from './helpers/stack.js'

const ROOT = join(import.meta.dirname, '..')
const SKILL = join(ROOT, 'skills/imagegen/SKILL.md')
/** The gateway's per-call fee (the sandbox's, see server/sandbox/app.ts), which the skill mentions. */
const FEE = 1000n
const MODELS = bundledCatalog().models
const findModel = (name: string): ModelEntry | undefined => bundledCatalog().find(name)?.model

/** "$0.05", or "$0.02–$0.04" for a model whose size tiers differ. */
function priceRange(model: ModelEntry): string {
  const prices = Object.values(model.prices)
  const low = prices.reduce((a, b) => (a < b ? a : b))
  const high = prices.reduce((a, b) => (a > b ? a : b))
  return low === high ? formatUsd(low) : `${formatUsd(low)}–${formatUsd(high)}`
}

type Frontmatter = Record<string, string>

/** Splits `---\n...\n---\n` frontmatter into single-line `key: value` pairs, refusing anything YAML would read differently. */
function frontmatter(text: string): { fields: Frontmatter; body: string } {
  const match = /^---\n([\s\S]*?)\n---\n([\s\S]*)$/.exec(text)
  if (!match) throw new Error('no frontmatter')
  const fields: Frontmatter = {}
  for (const line of match[1]!.split('\n')) {
    const pair = /^([a-z][a-z-]*): (.+)$/.exec(line)
    if (!pair) throw new Error(`frontmatter line is not a single-line "key: value": ${line}`)
    fields[pair[1]!] = pair[2]!
  }
  return { fields, body: match[2]! }
}

/** A value YAML reads back as the same plain string: no quoting or indicator characters, no ": " or " #". */
function isPlainScalar(value: string): boolean {
  return !/^[-?:,[\]{}#&*!|>'"%@`]/.test(value) && !value.includes(': ') && !value.includes(' #') && value.trim() === value
}

type HttpExample = { method: string; path: string; body: Record<string, unknown> | undefined; response: Record<string, unknown> | undefined }

/** Each ```http block (METHOD URL, headers, blank line, JSON body) with the ```json response that follows it, if any. */
function httpExamples(body: string): HttpExample[] {
  const blocks = [...body.matchAll(/```(http|json)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1]!, text: m[2]!, index: m.index! }))
  const examples: HttpExample[] = []
  blocks.forEach((block, i) => {
    if (block.lang !== 'http') return
    const [head, ...rest] = block.text.split('\n\n')
    const [method, url] = head!.split('\n')[0]!.split(' ')
    const json = rest.join('\n\n').trim()
    const next = blocks[i + 1]
    examples.push({
      method: method!,
      path: new URL(url!).pathname + new URL(url!).search,
      body: json ? (JSON.parse(json) as Record<string, unknown>) : undefined,
      response: next?.lang === 'json' ? (JSON.parse(next.text) as Record<string, unknown>) : undefined,
    })
  })
  return examples
}

/** The key structure of a JSON value (objects by key, arrays by their first element). */
function shape(value: unknown): unknown {
  if (Array.isArray(value)) return value.length ? [shape(value[0])] : []
  if (value && typeof value === 'object') return Object.fromEntries(Object.keys(value).sort().map((k) => [k, shape((value as Record<string, unknown>)[k])]))
  return value === null ? 'null' : typeof value
}

describe('skill text', () => {
  it('SKILL.md at the root is skills/imagegen/SKILL.md, byte for byte', async () => {
    expect(await readFile(join(ROOT, 'SKILL.md'), 'utf8')).toBe(await readFile(SKILL, 'utf8'))
  })

  it('every skill has frontmatter OpenClaw and Claude Code both accept', async () => {
    const names = (await readdir(join(ROOT, 'skills'), { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name)
    expect(names).toContain('imagegen')
    for (const name of names) {
      const { fields, body } = frontmatter(await readFile(join(ROOT, 'skills', name, 'SKILL.md'), 'utf8'))
      expect(Object.keys(fields).sort(), name).toEqual(['description', 'metadata', 'name'])
      expect(fields.name).toBe(name)
      expect(fields.name).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/)
      expect(fields.name!.length).toBeLessThanOrEqual(64)
      expect(fields.description!.length).toBeGreaterThan(100)
      expect(fields.description!.length).toBeLessThanOrEqual(1024)
      expect(isPlainScalar(fields.description!), `${name} description must stay a plain YAML scalar`).toBe(true)
      const metadata = JSON.parse(fields.metadata!) as { openclaw?: { emoji?: string } }
      expect(metadata.openclaw?.emoji).toMatch(/\p{Extended_Pictographic}/u)
      expect(body.trim().length).toBeGreaterThan(200)
    }
  })

  it('the model table is the catalog: alias, id, list price range, sizes, best for', async () => {
    const { body } = frontmatter(await readFile(SKILL, 'utf8'))
    const section = body.slice(body.indexOf('## Models'), body.indexOf('### Choosing the model'))
    const rows = section.split('\n').filter((line) => /^\| [a-z]/.test(line) && !line.startsWith('| Alias'))
    expect(rows.map((row) => row.split('|')[2]!.trim())).toEqual(MODELS.map((m) => m.id))
    for (const row of rows) {
      const [alias, id, price, sizes, bestFor] = row.split('|').slice(1, -1).map((cell) => cell.trim())
      const model = findModel(id!)!
      expect(model.aliases[0]).toBe(alias)
      expect(price).toBe(priceRange(model))
      expect(sizes!.split(', ')).toEqual([...model.sizes])
      expect(bestFor).toBe(model.bestFor)
    }
    // Every dearer tier is named with its price and sizes, and nothing else is.
    const tiers = [...section.replace(/\s+/g, ' ').matchAll(/([a-z0-9-]+) (\$[\d.]+) at ((?:\d+x\d+(?:,? and |, )?)+)/g)]
    const named = new Set<string>()
    for (const [, alias, usd, sizes] of tiers) {
      const model = findModel(alias!)!
      for (const size of sizes!.split(/,? and |, /).filter(Boolean)) {
        expect(formatUsd(model.prices[size]!), `${alias} ${size}`).toBe(usd)
        named.add(`${model.id} ${size}`)
      }
    }
    for (const model of MODELS) {
      const cheapest = Object.values(model.prices).reduce((a, b) => (a < b ? a : b))
      for (const [size, price] of Object.entries(model.prices)) expect(named.has(`${model.id} ${size}`), `${model.id} ${size}`).toBe(price > cheapest)
    }
    // The margin and the fee, and the worked example.
    expect(section).toContain(`adds 5% and a ${formatUsd(FEE)} fee`)
    const nano = findModel('nano-banana')!
    expect(section).toContain(`one nano-banana image costs ${formatUsd((nano.prices['1024x1024']! * 105n) / 100n + FEE)}`)
    // The old names, on the models they now run on.
    expect(section).toMatch(/dall-e-3 \(also dall-e, dalle\) was delisted by the gateway; it runs on\s+\*\*gpt-image-2\*\*/)
    expect(bundledCatalog().find('dall-e-3')!.model.aliases[0]).toBe('gpt-image-2')
    expect(bundledCatalog().find('flux')!.model.aliases[0]).toBe('grok-imagine')
  })

  it('the edit table is the catalog: every model that edits, its image limit, mask support and price; and the default edit model', async () => {
    const { body } = frontmatter(await readFile(SKILL, 'utf8'))
    const section = body.slice(body.indexOf('### Which model edits'), body.indexOf('### Combining several images'))
    const rows = section.split('\n').filter((line) => /^\| [a-z]/.test(line) && !line.startsWith('| Model'))
    expect(rows.map((row) => /\(([^)]+)\)/.exec(row)![1]).sort()).toEqual(MODELS.filter((m) => m.edit).map((m) => m.id).sort())
    for (const row of rows) {
      const [name, images, mask, price] = row.split('|').slice(1, -1).map((cell) => cell.trim())
      const model = findModel(/\(([^)]+)\)/.exec(name!)![1]!)!
      expect(name).toBe(`${model.aliases[0]} (${model.id})`)
      expect(images).toBe(`1 to ${model.maxInputImages}`)
      expect(mask).toBe(model.mask ? 'yes' : 'no')
      expect(price).toBe(priceRange(model))
    }
    const defaultEdit = findModel(DEFAULT_EDIT_MODEL)!
    const base = (model: ModelEntry) => model.prices['1024x1024']!
    expect(body).toContain(`Without \`model\`, edits run on **${defaultEdit.aliases[0]}** (${defaultEdit.id}), the cheapest model that\n  edits (${formatUsd(base(defaultEdit))} per image)`)
    expect(MODELS.filter((m) => m.edit).every((m) => base(m) >= base(defaultEdit))).toBe(true)
  })

  it('every size rule names only models that take that size', async () => {
    const { body } = frontmatter(await readFile(SKILL, 'utf8'))
    const section = body.slice(body.indexOf('### Choosing the size'), body.indexOf('## Edit an existing image'))
    let claims = 0
    for (const match of section.matchAll(/(\d+x\d+)(?: or (\d+x\d+))? \(([^)]+)\)/g)) {
      if (match[3] === 'every model') continue
      const sizes = [match[1]!, match[2]].filter(Boolean) as string[]
      for (const alias of match[3]!.replace(/\s+/g, ' ').split(', ')) {
        for (const size of sizes) {
          claims++
          expect(findModel(alias)?.sizes, `${alias} ${size}`).toContain(size)
        }
      }
    }
    expect(claims).toBeGreaterThanOrEqual(12)
    // Each rule lists every model that takes its sizes.
    for (const match of section.matchAll(/(\d+x\d+) \(([^)]+)\)/g)) {
      if (match[2] === 'every model') continue
      const takers = MODELS.filter((m) => m.sizes.includes(match[1]!)).map((m) => m.aliases[0])
      expect(section.replace(/\s+/g, ' '), match[1]).toMatch(new RegExp(`${match[1]} \\(${takers.join(', ')}\\)|${match[1]} or \\d+x\\d+ \\(${takers.join(', ')}\\)|\\d+x\\d+ or ${match[1]} \\(${takers.join(', ')}\\)`))
    }
    // The models said to have no portrait size have none.
    const noPortrait = /Portrait: [^.]*\. ([a-z0-9, -]+) and ([a-z0-9 -]+) have no portrait size/.exec(section.replace(/\s+/g, ' '))!
    for (const alias of [...noPortrait[1]!.split(', '), noPortrait[2]!]) {
      const models = alias === 'the grok models' ? MODELS.filter((m) => m.provider === 'xai') : [findModel(alias)!]
      for (const model of models) expect(model.sizes.some((size) => { const [w, h] = size.split('x').map(Number); return h! > w! }), alias).toBe(false)
    }
    // ...and every model without one is named there.
    const named = [...noPortrait[1]!.split(', '), noPortrait[2]!].flatMap((alias) => (alias === 'the grok models' ? MODELS.filter((m) => m.provider === 'xai') : [findModel(alias)!])).map((m) => m.id)
    const square = MODELS.filter((m) => !m.sizes.some((size) => { const [w, h] = size.split('x').map(Number); return h! > w! })).map((m) => m.id)
    expect(named.sort()).toEqual(square.sort())
    expect(section).toContain('Default: 1024x1024 (every model)')
    for (const model of MODELS) expect(model.sizes).toContain('1024x1024')
    // quality: the models said to take it are the ones that do.
    expect(section).toMatch(/`"quality": "hd"` \(or `"standard"`\) applies to cogview;/)
    expect(MODELS.filter((m) => m.quality.hd).map((m) => m.aliases[0])).toEqual(['cogview'])
  })

  it('the tool signatures are the tools the MCP server and the plugin register', async () => {
    const { body } = frontmatter(await readFile(SKILL, 'utf8'))
    const listed = [...body.matchAll(/^ {3}- `([a-z_]+)` \{([^}]*)\}/gm)]
    expect(listed.map((m) => m[1])).toEqual(TOOLS.map((t) => t.name))
    for (const [, name, fields] of listed) {
      const schema = TOOLS.find((t) => t.name === name)!.inputSchema as { properties?: Record<string, unknown>; required?: string[] }
      const params = fields!.split(',').map((f) => f.trim()).filter(Boolean)
      expect(params.map((p) => p.replace('?', '')).sort(), name).toEqual(Object.keys(schema.properties ?? {}).sort())
      expect(params.filter((p) => !p.endsWith('?')).sort(), name).toEqual([...(schema.required ?? [])].sort())
    }
  })
})

describe('skill HTTP examples against the proxy and the sandbox', () => {
  let stack: Stack
  let photoServer: Server
  let photoUrl: string
  let photoPath: string
  let maskPath: string

  beforeAll(async () => {
    // A private-network image URL stands in for the examples' https://example.com/...
    stack = await startStack({ settings: { allowPrivateUrls: true } })
    const photo = await sharp({ create: { width: 1024, height: 1024, channels: 3, background: '#3a7bd5' } }).png().toBuffer()
    photoPath = join(stack.home, 'beach.png')
    maskPath = join(stack.home, 'beach-sky-mask.png')
    await writeFile(photoPath, photo)
    await writeFile(maskPath, await sharp({ create: { width: 1024, height: 1024, channels: 3, background: '#000000' } }).composite([{ input: await sharp({ create: { width: 1024, height: 400, channels: 3, background: '#ffffff' } }).png().toBuffer(), top: 0, left: 0 }]).png().toBuffer())
    photoServer = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'image/png' })
      response.end(photo)
    })
    await new Promise<void>((resolve) => photoServer.listen(0, '127.0.0.1', resolve))
    photoUrl = `http://127.0.0.1:${(photoServer.address() as AddressInfo).port}/photo.png`
  })
  afterAll(async () => {
    await new Promise((resolve) => photoServer.close(resolve))
    await stack.close()
  })

  /** Example inputs → what this test can serve: URLs to the local photo server, paths to files in the stack's home. */
  function localInputs(body: Record<string, unknown>): Record<string, unknown> {
    const swap = (ref: unknown, file: string): unknown => (Array.isArray(ref) ? ref.map((item) => swap(item, file)) : typeof ref !== 'string' ? ref : ref.startsWith('https://') ? photoUrl : file)
    return {
      ...body,
      ...(body.image !== undefined ? { image: swap(body.image, photoPath) } : {}),
      ...(body.mask !== undefined ? { mask: swap(body.mask, maskPath) } : {}),
    }
  }

  it('runs every POST example: a real image, paid once at the catalog price, answered in the documented shape', async () => {
    const { body } = frontmatter(await readFile(SKILL, 'utf8'))
    const all = httpExamples(body).filter((e) => e.method === 'POST')
    expect(all.map((e) => e.path)).toEqual(['/v1/images/generations', '/v1/images/image2image', '/v1/images/image2image', '/v1/images/image2image', '/v1/images/quote'])
    // The quote example pays nothing; it has its own test below.
    const posts = all.filter((e) => e.path !== '/v1/images/quote')
    expect(posts.filter((e) => e.body?.image !== undefined)).toHaveLength(3)
    expect(posts.some((e) => Array.isArray(e.body?.image) && e.body.model === 'google/nano-banana'), 'a fusion example on nano-banana').toBe(true)
    expect(posts.some((e) => e.body?.mask !== undefined)).toBe(true)
    expect(posts[0]!.response, 'the generation example shows its response').toBeDefined()

    for (const example of posts) {
      const before = stack.sandbox.usdc.transfers.length
      const response = await stack.post(example.path, localInputs(example.body!))
      expect(response.status, `${example.path} ${JSON.stringify(response.body)}`).toBe(200)
      const model = findModel(response.body.model)!
      const n = (example.body!.n as number | undefined) ?? 1
      const size = (example.body!.size as string | undefined) ?? '1024x1024'
      expect(response.body.data).toHaveLength(n)
      const meta = await sharp(await readFile(response.body.data[0].path)).metadata()
      expect(`${meta.width}x${meta.height}`).toBe(size)
      // One settlement, for the list price of the size with the 5% margin, plus the fee the skill mentions.
      expect(stack.sandbox.usdc.transfers.length).toBe(before + 1)
      expect(stack.sandbox.usdc.transfers.at(-1)!.amount).toBe((model.prices[size]! * BigInt(n) * 105n) / 100n + FEE)
      if (example.body!.model !== undefined) expect(findModel(example.body!.model as string)).toBe(model)
      if (example.response) {
        expect(shape(response.body)).toEqual(shape(example.response))
        // The example's numbers are the ones this request really costs.
        expect(example.response.model).toBe(model.id)
        expect((example.response.cost as { amount: string; usd: string }).amount).toBe(response.body.cost.amount)
        expect((example.response.cost as { amount: string; usd: string }).usd).toBe(response.body.cost.usd)
        expect(example.response.estimate).toEqual(response.body.estimate)
        expect(example.response.notes).toEqual(response.body.notes)
        expect((example.response.data as Array<{ file: string; url: string; path: string }>)[0]!.url.endsWith(`/images/${(example.response.data as Array<{ file: string }>)[0]!.file}`)).toBe(true)
      }
    }
  })

  it('the edit example without a model runs on gpt-image-1, as the skill says', async () => {
    const { body } = frontmatter(await readFile(SKILL, 'utf8'))
    const masked = httpExamples(body).find((e) => e.body?.mask !== undefined)!
    expect(masked.body!.model).toBeUndefined()
    const response = await stack.post(masked.path, localInputs(masked.body!))
    expect(response.status).toBe(200)
    expect(response.body.model).toBe('openai/gpt-image-1')
  })

  it('the quote example answers with the fields the skill names, and its price is what that call then pays with max_price', async () => {
    const { body } = frontmatter(await readFile(SKILL, 'utf8'))
    const quote = httpExamples(body).find((e) => e.path === '/v1/images/quote')!
    const authorizations = stack.sandbox.counters.authorizations
    const response = await stack.post(quote.path, quote.body)
    expect(response.status, JSON.stringify(response.body)).toBe(200)
    expect(stack.sandbox.counters.authorizations).toBe(authorizations)
    const section = body.slice(body.indexOf('## Know the price before paying'), body.indexOf('### Retries never pay twice'))
    for (const field of ['usd', 'amount', 'chain', 'network', 'pay_to', 'allowed', 'policy', 'budget', 'confirmation']) {
      expect(response.body, field).toHaveProperty(field)
      expect(section, `the skill names ${field}`).toContain(`\`${field}`)
    }
    const paid = await stack.post('/v1/images/generations', { ...quote.body, max_price: response.body.usd.slice(1) })
    expect(paid.status, JSON.stringify(paid.body)).toBe(200)
    expect(paid.body.cost.amount).toBe(response.body.amount)
    // The example's max_price is that price, as the skill writes it.
    expect(section).toContain(`"max_price"\` set to that price, in dollars as a string: \`"${response.body.usd.slice(1)}"\``)
  })

  it('the GET examples answer with the fields the skills tell the agent to read', async () => {
    const text = (await readFile(SKILL, 'utf8')) + (await readFile(join(ROOT, 'skills/imagegen-wallet/SKILL.md'), 'utf8'))
    const gets = new Set([...text.matchAll(/GET http:\/\/localhost:8402(\/v1\/[a-z]+(?:\?days=\d+)?)/g)].map((m) => m[1]!))
    expect([...gets].sort()).toEqual(['/v1/models', '/v1/receipts', '/v1/usage?days=7', '/v1/wallet'])
    const fieldsFor: Record<string, string[]> = {
      '/v1/wallet': ['address', 'network', 'balanceUsd', 'balanceNote', 'fund'],
      '/v1/usage?days=7': ['totalUsd', 'payments', 'images', 'byDay', 'byModel', 'budget.dailyUsd', 'budget.spentLast24hUsd', 'budget.remainingUsd'],
      '/v1/models': ['source'],
      '/v1/receipts': ['data', 'has_more'],
    }
    for (const path of gets) {
      const response = await stack.get(path)
      expect(response.status, path).toBe(200)
      const json = (await response.json()) as Record<string, unknown>
      for (const field of fieldsFor[path]!) {
        const [head, tail] = field.split('.')
        expect(json, `${path} ${field}`).toHaveProperty(head!)
        if (tail) expect(json[head!], `${path} ${field}`).toHaveProperty(tail)
        expect(text, `the skills name ${field}`).toContain(`\`${tail ?? head}\``)
      }
      // The live list: every model of the table, and what only the (sandbox) gateway lists.
      if (path === '/v1/models') expect((json.data as Array<{ id: string }>).map((m) => m.id)).toEqual([...MODELS.map((m) => m.id), 'sandbox/live-only-image'])
    }
  })
})
