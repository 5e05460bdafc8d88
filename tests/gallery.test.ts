/**
 * The gallery's API, page and thumbnails on a real proxy over a sandbox: what it lists (prompt,
 * model, size, cost, transaction, as the receipts and ledger say), its filters and pages, the
 * images ClawRouter leaves in the shared folder, thumbnails made once, the spend view against the
 * ledger, and the guards (who may read it, which pages may embed it).
 */
import { copyFile, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { browserSessions } from '../server/auth/browser-session.js'
import { daysEndingWith, dayKey, timeZoneOf } from '../server/gallery/days.js'
import { explorerLink } from '../server/gallery/explorer.js'
import { spendView } from '../server/gallery/spend.js'
import type { PaymentRecord } from '../server/payment/ledger.js'
import { asOtherUser, otherUserUnavailable } from './helpers/other-user.js'
import { startStack, statusWithHost, type Stack } from './helpers/stack.js'

type Made = { file: string; model: string; prompt: string; amount: string; transaction: string; receipt: string }

describe('the gallery over a proxy', () => {
  let stack: Stack
  const made: Made[] = []
  const images = () => join(stack.home, 'images')

  beforeAll(async () => {
    stack = await startStack()
    for (const [model, prompt, n] of [['google/nano-banana', 'a red fox in fresh snow', 1], ['zai/cogview-4', 'a lighthouse at dusk', 1], ['openai/gpt-image-1', 'two cats asleep', 2], ['google/nano-banana', 'a red kite over hills', 1]] as const) {
      const { status, body } = await stack.post('/v1/images/generations', { model, prompt, n, size: '1024x1024' })
      expect(status, JSON.stringify(body)).toBe(200)
      for (const image of body.data) made.push({ file: image.file, model, prompt, amount: body.cost.amount, transaction: body.cost.transaction, receipt: body.receipt })
    }
  })
  afterAll(() => stack.close())

  const json = async (path: string, headers: Record<string, string> = {}) => {
    const response = await stack.get(path, headers)
    return { status: response.status, body: (await response.json()) as any, headers: response.headers }
  }

  it('lists every image newest first with its prompt, model, size, cost and transaction, as its receipt says', async () => {
    const { status, body, headers } = await json('/v1/gallery?facets=1')
    expect(status).toBe(200)
    expect(headers.get('cache-control')).toBe('no-store')
    expect(headers.get('access-control-allow-origin')).toBeNull()
    expect(body.total).toBe(5)
    expect(body.data.map((item: any) => item.file)).toEqual(made.map((m) => m.file).sort().reverse())
    for (const item of body.data) {
      const m = made.find((x) => x.file === item.file)!
      expect(item).toMatchObject({ source: 'ours', prompt: m.prompt, model: m.model, size: '1024x1024', receipt: m.receipt, missing: false })
      expect(item.cost).toMatchObject({ amount: m.amount, network: 'eip155:84532', network_label: 'Base Sepolia', testnet: true, status: 'settled', transaction: m.transaction, explorer: null })
      expect(item.url).toBe(`${stack.proxy.url}/images/${item.file}`)
    }
    // The two images of one request share its receipt and its cost, numbered 1 and 2 of 2.
    const cats = body.data.filter((item: any) => item.model === 'openai/gpt-image-1')
    expect(cats.map((item: any) => [item.index, item.n]).sort()).toEqual([[1, 2], [2, 2]])
    expect(body.facets.models).toEqual([{ model: 'google/nano-banana', count: 2 }, { model: 'openai/gpt-image-1', count: 2 }, { model: 'zai/cogview-4', count: 1 }])
    expect(body.facets.days).toEqual([{ day: new Date().toISOString().slice(0, 10), count: 5 }])
  })

  it('filters by model, day (in the asked time zone), prompt words and source, and pages without gaps or repeats', async () => {
    expect((await json('/v1/gallery?model=google/nano-banana')).body.data.map((i: any) => i.prompt)).toEqual(['a red kite over hills', 'a red fox in fresh snow'])
    expect((await json('/v1/gallery?q=RED')).body.total).toBe(2)
    expect((await json('/v1/gallery?q=lighthouse&model=zai/cogview-4')).body.total).toBe(1)
    const today = dayKey('Pacific/Kiritimati', Date.now())
    expect((await json(`/v1/gallery?tz=Pacific/Kiritimati&day=${today}`)).body.total).toBe(5)
    expect((await json(`/v1/gallery?tz=Pacific/Kiritimati&day=2001-01-01`)).body.total).toBe(0)
    expect((await json('/v1/gallery?source=elsewhere')).body.total).toBe(0)
    const seen: string[] = []
    let before: string | undefined
    for (let pages = 0; pages < 10; pages++) {
      const { body } = await json(`/v1/gallery?limit=2${before ? `&before=${before}` : ''}`)
      seen.push(...body.data.map((i: any) => i.file))
      if (!body.has_more) break
      before = body.next
    }
    expect(seen).toEqual(made.map((m) => m.file).sort().reverse())
  })

  it('refuses bad parameters with a 400 naming them', async () => {
    for (const [query, param] of [['tz=Mars/Olympus', 'tz'], ['day=yesterday', 'day'], ['limit=0', 'limit'], ['limit=1000', 'limit'], ['before=../../wallet.key', 'before'], ['source=theirs', 'source']] as const) {
      const { status, body } = await json(`/v1/gallery?${query}`)
      expect(status, query).toBe(400)
      expect(body.error.param).toBe(param)
    }
  })

  it('gives one image with its whole receipt; none for a name it did not write', async () => {
    const m = made[0]!
    const { status, body } = await json(`/v1/gallery/items/${m.file}`)
    expect(status).toBe(200)
    expect(body.path).toBe(join(images(), m.file))
    expect(body.sha256).toMatch(/^[0-9a-f]{64}$/)
    expect(body.receipt_view.payment).toMatchObject({ amount: m.amount, transaction: m.transaction, status: 'settled' })
    for (const name of ['..%2Fwallet.key', 'wallet.key', '1795552360411-00a37b700bf718a2.png']) expect((await stack.get(`/v1/gallery/items/${name}`)).status).toBe(404)
  })

  it('makes a thumbnail once (WebP, at most 400 px, private), and serves it from then on', async () => {
    const m = made[0]!
    const [first, second] = await Promise.all([stack.get(`/gallery/thumbnails/${m.file}`), stack.get(`/gallery/thumbnails/${m.file}`)])
    expect(first.status).toBe(200)
    expect(second.status).toBe(200)
    expect(first.headers.get('content-type')).toBe('image/webp')
    expect(first.headers.get('cross-origin-resource-policy')).toBe('same-origin')
    const meta = await sharp(Buffer.from(await first.arrayBuffer())).metadata()
    expect(Math.max(meta.width!, meta.height!)).toBeLessThanOrEqual(400)
    await second.arrayBuffer()
    const path = join(stack.home, 'thumbnails', '400', `${m.file}.webp`)
    const made1 = await stat(path)
    expect((made1.mode & 0o777).toString(8)).toBe('600')
    expect(((await stat(join(stack.home, 'thumbnails', '400'))).mode & 0o777).toString(8)).toBe('700')
    expect(await readdir(join(stack.home, 'thumbnails', '400'))).toEqual([`${m.file}.webp`])
    await (await stack.get(`/gallery/thumbnails/${m.file}`)).arrayBuffer()
    expect((await stat(path)).mtimeMs).toBe(made1.mtimeMs)
    for (const name of ['..%2Fwallet.key', 'x.png', '1795552360411-00a37b700bf718a2.png']) expect((await stack.get(`/gallery/thumbnails/${name}`)).status, name).toBe(404)
  })

  it("shows ClawRouter's images in the shared folder as made elsewhere, by their bytes; other files not at all", async () => {
    const png = await readFile(join(images(), made[0]!.file))
    const jpeg = await sharp(png).jpeg().toBuffer()
    const now = Date.now()
    // ClawRouter's names: Date.now() and Math.random().toString(36).slice(2, 10).
    await writeFile(join(images(), `${now}-k3j9x0ab.jpg`), jpeg)
    await writeFile(join(images(), `${now + 1}-zz9.png`), '<html><script>alert(1)</script></html>')
    await writeFile(join(images(), 'notes.txt'), 'not an image')
    // A name of ours the index does not have (a lost index, an older version).
    await copyFile(join(images(), made[1]!.file), join(images(), `${now + 2}-0123456789abcdef.png`))
    const { body } = await json('/v1/gallery?source=elsewhere')
    expect(body.data.map((i: any) => [i.file, i.source, i.prompt, i.cost])).toEqual([
      [`${now + 2}-0123456789abcdef.png`, 'unindexed', null, null],
      [`${now + 1}-zz9.png`, 'clawrouter', null, null],
      [`${now}-k3j9x0ab.jpg`, 'clawrouter', null, null],
    ])
    expect((await json('/v1/gallery')).body.total).toBe(8)
    const served = await stack.get(`/images/${now}-k3j9x0ab.jpg`)
    expect(served.status).toBe(200)
    expect(served.headers.get('content-type')).toBe('image/jpeg')
    expect(Buffer.from(await served.arrayBuffer()).equals(jpeg)).toBe(true)
    expect((await stack.get(`/gallery/thumbnails/${now}-k3j9x0ab.jpg`)).status).toBe(200)
    // Named like ClawRouter's, but not an image: never served as anything.
    expect((await stack.get(`/images/${now + 1}-zz9.png`)).status).toBe(404)
    expect((await stack.get(`/gallery/thumbnails/${now + 1}-zz9.png`)).status).toBe(404)
    expect((await stack.get('/images/notes.txt')).status).toBe(404)
  })

  it('marks an image whose file was deleted by hand', async () => {
    const m = made.at(-1)!
    await rm(join(images(), m.file))
    const { body } = await json(`/v1/gallery?q=${encodeURIComponent(m.prompt)}`)
    expect(body.data[0]).toMatchObject({ file: m.file, missing: true })
  })

  it("spend: today's spend per model as the ledger has it, against the daily budget; a refused authorization is held, not spent", async () => {
    const refused = await stack.post('/v1/images/generations', { model: 'zai/cogview-4', prompt: 'refused [fault:payment-required-again]', size: '1024x1024' })
    expect(refused.status).toBeGreaterThanOrEqual(400)
    const { status, body } = await json('/v1/gallery/spend?days=30&tz=UTC')
    expect(status).toBe(200)
    expect(body.calendar).toHaveLength(30)
    const today = body.calendar.at(-1)
    expect(today.day).toBe(new Date().toISOString().slice(0, 10))
    const receipts = new Map(made.map((m) => [m.receipt, m]))
    const byModel = new Map<string, bigint>()
    for (const m of receipts.values()) byModel.set(m.model, (byModel.get(m.model) ?? 0n) + BigInt(m.amount))
    expect(today.by_model.map((m: any) => [m.model, m.amount])).toEqual([...byModel].sort(([a], [b]) => a.localeCompare(b)).map(([model, amount]) => [model, amount.toString()]))
    expect(BigInt(today.spent.amount)).toBe([...byModel.values()].reduce((a, b) => a + b))
    expect(today.held.amount).not.toBe('0')
    expect(body.daily_budget).toEqual({ amount: '5000000', usd: '$5.00' })
    expect(body.window.held.length).toBeGreaterThanOrEqual(1)
    for (const held of body.window.held) expect(held).toMatchObject({ model: 'zai/cogview-4', status: 'refused' })
    expect(body.window.held.reduce((sum: bigint, h: any) => sum + BigInt(h.amount), 0n)).toBe(BigInt(today.held.amount))
    // The window's figures are the usage report's: the page and `imagegen usage` agree.
    const usage = (await json('/v1/usage?days=1')).body
    expect(body.window.budget).toEqual(usage.budget)
    expect(BigInt(body.window.budget.usedLast24h)).toBe(BigInt(today.spent.amount) + BigInt(today.held.amount))
  })

  it('serves the page with a strict CSP, no framing, and only to its own page and top-level visits', async () => {
    const page = await stack.get('/')
    expect(page.status).toBe(200)
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8')
    const csp = page.headers.get('content-security-policy')!
    for (const directive of ["default-src 'none'", "script-src 'self'", "frame-ancestors 'none'", "connect-src 'self'"]) expect(csp).toContain(directive)
    expect(page.headers.get('x-frame-options')).toBe('DENY')
    expect(await page.text()).toContain('<script type="module" src="/gallery/app.js">')
    for (const asset of ['app.js', 'item.js', 'viewer.js', 'spend.js', 'dom.js', 'style.css', 'icon.svg']) expect((await stack.get(`/gallery/${asset}`)).status, asset).toBe(200)
    expect((await stack.get('/gallery/tsconfig.json')).status).toBe(404)
    expect((await stack.get('/gallery/..%2F..%2Fwallet.key')).status).toBe(404)
    const etag = page.headers.get('etag')!
    expect((await stack.get('/', { 'if-none-match': etag })).status).toBe(304)
    // Another page's <img>, <script>, fetch or frame: refused. A link followed to the page: shown.
    // (node:http, not fetch: fetch sets Sec-Fetch-Mode itself.)
    const host = `127.0.0.1:${stack.proxy.port}`
    const as = (path: string, site: string, mode: string, dest: string) => statusWithHost(`${stack.proxy.url}${path}`, host, { 'sec-fetch-site': site, 'sec-fetch-mode': mode, 'sec-fetch-dest': dest })
    expect(await as(`/gallery/thumbnails/${made[0]!.file}`, 'cross-site', 'no-cors', 'image')).toBe(403)
    expect(await as('/gallery/app.js', 'same-site', 'cors', 'script')).toBe(403)
    expect(await as('/v1/gallery', 'cross-site', 'no-cors', 'script')).toBe(403)
    expect(await as('/v1/gallery/spend', 'same-site', 'cors', 'empty')).toBe(403)
    expect(await as('/', 'cross-site', 'navigate', 'iframe')).toBe(403)
    expect(await as('/', 'cross-site', 'navigate', 'document')).toBe(200)
    expect(await as('/', 'none', 'navigate', 'document')).toBe(200)
    expect(await as('/v1/gallery', 'same-origin', 'cors', 'empty')).toBe(200)
    expect(await as(`/gallery/thumbnails/${made[0]!.file}`, 'same-origin', 'no-cors', 'image')).toBe(200)
    // The API's own guards hold here too: a foreign Origin, a rebinding Host.
    expect((await stack.get('/v1/gallery', { origin: 'http://localhost:3000' })).status).toBe(403)
    expect(await statusWithHost(`${stack.proxy.url}/`, 'evil.example:80')).toBe(403)
  })

  it.skipIf(otherUserUnavailable !== undefined)(`another user of the machine gets neither the page nor its data (${otherUserUnavailable ?? 'as nobody'})`, async () => {
    const { answers } = await asOtherUser([
      { url: `${stack.proxy.url}/`, headers: { accept: 'text/html', 'sec-fetch-dest': 'document', 'sec-fetch-mode': 'navigate', 'sec-fetch-site': 'none' } },
      { url: `${stack.proxy.url}/v1/gallery` },
      { url: `${stack.proxy.url}/gallery/thumbnails/${made[0]!.file}` },
      { url: `${stack.proxy.url}/v1/gallery/spend` },
    ])
    expect(answers.map((a) => a.status)).toEqual([403, 403, 403, 403])
    expect(answers[0]!.headers['content-type']).toContain('text/html')
    expect(answers[0]!.body).not.toContain('a red fox')
    for (const answer of answers.slice(1)) expect(JSON.parse(answer.body).error.code).toBe('forbidden_user')
  })
})

describe('the gallery in token mode', () => {
  let stack: Stack
  beforeAll(async () => {
    stack = await startStack({ settings: { auth: 'token' } })
  })
  afterAll(() => stack.close())

  it('a browser without a session gets a page saying how to sign in; with one, the page and its data', async () => {
    const page = await stack.get('/', { accept: 'text/html', 'sec-fetch-dest': 'document', 'sec-fetch-mode': 'navigate', 'sec-fetch-site': 'none' })
    expect(page.status).toBe(401)
    expect(page.headers.get('content-type')).toContain('text/html')
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'")
    expect(await page.text()).toContain('imagegen gallery')
    expect((await stack.get('/v1/gallery')).status).toBe(401)
    // The one-time link `imagegen gallery` prints, as a browser follows it.
    const token = (await readFile(join(stack.home, 'proxy.token'), 'utf8')).trim()
    const link = await stack.post('/v1/auth/browser-link', { next: '/' }, { authorization: `Bearer ${token}` })
    const signIn = await fetch(link.body.url, { redirect: 'manual' })
    expect(signIn.status).toBe(303)
    expect(signIn.headers.get('location')).toBe('/')
    const cookie = signIn.headers.get('set-cookie')!.split(';')[0]!
    expect((await stack.get('/', { cookie })).status).toBe(200)
    expect((await stack.get('/v1/gallery', { cookie })).status).toBe(200)
    expect((await stack.get('/v1/gallery/spend', { cookie })).status).toBe(200)
    // A forged session is not one.
    const forged = `${browserSessions('not-the-token', () => stack.proxy.port).cookieName}=${'a'.repeat(24)}.9999999999.${'b'.repeat(43)}`
    expect((await stack.get('/v1/gallery', { cookie: forged })).status).toBe(401)
  })
})

describe('gallery parts', () => {
  it('links mainnet transactions to their explorers, and none on test networks', () => {
    const evm = `0x${'ab'.repeat(32)}`
    const sol = '5'.repeat(87)
    expect(explorerLink('eip155:8453', evm)).toEqual({ name: 'BaseScan', url: `https://basescan.org/tx/${evm}` })
    expect(explorerLink('solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp', sol)).toEqual({ name: 'Solscan', url: `https://solscan.io/tx/${sol}` })
    expect(explorerLink('eip155:84532', evm)).toBeUndefined()
    expect(explorerLink('solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1', sol)).toBeUndefined()
    expect(explorerLink('eip155:8453', 'javascript:alert(1)')).toBeUndefined()
    expect(explorerLink('eip155:8453', undefined)).toBeUndefined()
  })

  it('counts calendar days in the viewer\'s zone, never skipping one over a DST change', () => {
    const instant = Date.parse('2026-03-29T23:30:00Z')
    expect(dayKey('UTC', instant)).toBe('2026-03-29')
    expect(dayKey('Europe/Berlin', instant)).toBe('2026-03-30')
    expect(dayKey('America/Los_Angeles', instant)).toBe('2026-03-29')
    expect(daysEndingWith('2026-03-30', 3)).toEqual(['2026-03-28', '2026-03-29', '2026-03-30'])
    expect(daysEndingWith('2026-03-01', 2)).toEqual(['2026-02-28', '2026-03-01'])
    // The per-day offset cache agrees with Intl everywhere: half- and quarter-hour zones, DST both ways, across the date line.
    for (const tz of ['Europe/Berlin', 'America/St_Johns', 'Asia/Kathmandu', 'Australia/Lord_Howe', 'Pacific/Chatham', 'Pacific/Kiritimati', 'Africa/Casablanca']) {
      const intl = new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' })
      for (let t = Date.parse('2026-01-01T00:00:00Z'); t < Date.parse('2027-01-01T00:00:00Z'); t += 37 * 60_000 + 7_000) if (dayKey(tz, t) !== intl.format(t)) expect.fail(`${tz} at ${new Date(t).toISOString()}: ${dayKey(tz, t)}, Intl says ${intl.format(t)}`)
    }
    expect(timeZoneOf(undefined)).toBe('UTC')
    expect(() => timeZoneOf('Not/AZone')).toThrow(/Unknown time zone/)
  })

  it('spend view: days per model in the zone, held apart, a chain-unused authorization nowhere', () => {
    const now = Date.parse('2026-06-10T12:00:00Z')
    const record = (id: string, hoursAgo: number, model: string, amount: bigint, status: PaymentRecord['status'], extra: Partial<PaymentRecord> = {}): PaymentRecord => ({
      id, requestId: id, endpoint: '/v1/images/generations', model, size: '1024x1024', n: 1, amount, network: 'eip155:8453', asset: '0x', payTo: '0x', time: now - hoursAgo * 3_600_000, status, ...extra,
    })
    const records = [
      record('a', 1, 'google/nano-banana', 40_000n, 'settled'),
      record('b', 2, 'openai/gpt-image-1', 20_000n, 'unknown'),
      record('c', 3, 'zai/cogview-4', 15_000n, 'refused'),
      record('d', 14, 'google/nano-banana', 40_000n, 'settled'),
      record('e', 4, 'zai/cogview-4', 15_000n, 'refused', { chain: 'unused' }),
      record('f', 5, 'zai/cogview-4', 99_000n, 'declined'),
      record('g', 24 * 40, 'google/nano-banana', 40_000n, 'settled'),
    ]
    const view = spendView(records, { days: 7, tz: 'UTC', dailyBudget: 5_000_000n, now })
    expect(view.calendar.map((d) => d.day)).toEqual(daysEndingWith('2026-06-10', 7))
    const today = view.calendar.at(-1)!
    expect(today.spent.amount).toBe('60000')
    expect(today.held.amount).toBe('15000')
    expect(today.by_model).toEqual([{ model: 'google/nano-banana', amount: '40000', usd: '$0.04' }, { model: 'openai/gpt-image-1', amount: '20000', usd: '$0.02' }])
    expect(view.calendar.at(-2)!.spent.amount).toBe('40000')
    expect(view.total).toMatchObject({ amount: '100000', payments: 3 })
    expect(view.models[0]).toMatchObject({ model: 'google/nano-banana', spent: { amount: '80000' } })
    expect(view.window.held.map((h) => h.id)).toEqual(['c'])
    expect(view.window.budget).toMatchObject({ spentLast24h: '100000', heldLast24h: '15000', usedLast24h: '115000' })
    // In Tokyo the record of 14 hours ago falls on the same day as the latest (22:00 UTC the day before is 07:00 in Tokyo).
    const tokyo = spendView(records, { days: 7, tz: 'Asia/Tokyo', dailyBudget: 5_000_000n, now })
    expect(tokyo.today).toBe('2026-06-10')
    expect(tokyo.calendar.at(-1)!.spent.amount).toBe('100000')
  })
})

describe('thumbnails of deleted images', () => {
  it('are removed by the first thumbnail asked for in a process; those of images still there, and other files, stay', async () => {
    const { mkdtemp, mkdir } = await import('node:fs/promises')
    const { tmpdir } = await import('node:os')
    const { Thumbnails } = await import('../server/gallery/thumbnails.js')
    const home = await mkdtemp(join(tmpdir(), 'imagegen-thumbs-'))
    try {
      const images = join(home, 'images')
      const thumbs = join(home, 'thumbnails', '400')
      await mkdir(images)
      await mkdir(thumbs, { recursive: true })
      const kept = '1795552360411-00a37b700bf718a2.png'
      const asked = '1795552360412-00a37b700bf718a3.png'
      const deleted = '1795552360410-00a37b700bf718a1.png'
      const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#c33' } }).png().toBuffer()
      await writeFile(join(images, kept), png)
      await writeFile(join(images, asked), png)
      for (const name of [`${kept}.webp`, `${deleted}.webp`, 'notes.txt']) await writeFile(join(thumbs, name), 'x')
      const thumbnails = new Thumbnails(home, images)
      await thumbnails.path(asked, join(images, asked))
      await thumbnails.prune()
      expect((await readdir(thumbs)).sort()).toEqual([`${asked}.webp`, `${kept}.webp`, 'notes.txt'].sort())
    } finally {
      await rm(home, { recursive: true, force: true })
    }
  })
})
