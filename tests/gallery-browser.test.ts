/**
 * The gallery in a real browser: headless Chromium (Debian's) driven by playwright-core against
 * `imagegen serve` (the bundle, as users run it) over a sandbox. It loads, shows the images made
 * here with their prompts and costs, filters, opens an image with its receipt and copies an edit
 * request, and the spend chart has today's spend per model; then the same in token mode through
 * the one-time link `imagegen gallery` prints. Screenshots go to .artifacts/ (gitignored).
 */
import { appendFile, copyFile, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dayKey } from '../server/gallery/days.js'
import { parseUsd } from '../server/money.js'
import { startSandbox, type RunningSandbox } from '../server/sandbox/server.js'
import { loadWallet } from '../server/wallet/key.js'
import { artifactPath, chromiumUnavailable, launchChromium } from './helpers/browser.js'
import { runCli, spawnProxy, type ProxyProcess } from './helpers/processes.js'
import { tempHome } from './helpers/stack.js'

const TIME_ZONE = 'Europe/Berlin'

type Made = { file: string; model: string; prompt: string; usd: string; amount: string; transaction: string; receipt: string }

/** A sandbox, a funded home, and `imagegen serve` over both; `count` images made through it. */
async function servedHome(args: string[] = []): Promise<{ home: string; sandbox: RunningSandbox; proxy: ProxyProcess }> {
  const home = await tempHome('imagegen-gallery-browser-')
  const wallet = await loadWallet({ home })
  const sandbox = await startSandbox({ jobMs: 50, fund: { [wallet.address]: parseUsd('10') } })
  const proxy = await spawnProxy({ home, upstream: sandbox.url, args: ['--sepolia-rpc-url', sandbox.rpcUrl, '--poll-interval-seconds', '0.05', ...args] })
  return { home, sandbox, proxy }
}

async function make(proxyUrl: string, requests: Array<[string, string]>, headers: Record<string, string> = {}): Promise<Made[]> {
  const made: Made[] = []
  for (const [model, prompt] of requests) {
    const response = await fetch(`${proxyUrl}/v1/images/generations`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ model, prompt, size: '1024x1024' }) })
    const body = (await response.json()) as any
    expect(response.status, JSON.stringify(body)).toBe(200)
    made.push({ file: body.data[0].file, model, prompt, usd: body.cost.usd, amount: body.cost.amount, transaction: body.cost.transaction, receipt: body.receipt })
  }
  return made
}

/** A page that records what the browser complained about (CSP violations, script errors). */
async function watchedPage(browser: Browser): Promise<{ page: Page; complaints: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, timezoneId: TIME_ZONE })
  await context.grantPermissions(['clipboard-read', 'clipboard-write'])
  const page = await context.newPage()
  const complaints: string[] = []
  page.on('console', (message) => message.type() === 'error' && complaints.push(message.text()))
  page.on('pageerror', (error) => complaints.push(error.message))
  return { page, complaints }
}

describe.skipIf(chromiumUnavailable !== undefined)(`the gallery in headless Chromium${chromiumUnavailable ? ` (${chromiumUnavailable})` : ''}`, () => {
  let browser: Browser
  let served: Awaited<ReturnType<typeof servedHome>>
  let made: Made[]

  beforeAll(async () => {
    ;[browser, served] = await Promise.all([launchChromium(), servedHome()])
    made = await make(served.proxy.url, [
      ['google/nano-banana', 'a red fox in fresh snow'],
      ['zai/cogview-4', 'a lighthouse at dusk'],
      ['google/nano-banana', 'a kite over green hills'],
    ])
  })
  afterAll(async () => {
    await browser?.close()
    await served?.proxy.stop()
    await served?.sandbox.close()
  })

  it('shows the images made, newest first, with their prompts, models and costs; filters; opens one with its receipt and an edit request', async () => {
    const { page, complaints } = await watchedPage(browser)
    await page.goto(`${served.proxy.url}/`)
    const items = page.locator('#grid .item')
    await expect.poll(() => items.count()).toBe(3)
    const newestFirst = [...made].reverse()
    expect(await items.evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-file')))).toEqual(newestFirst.map((m) => m.file))
    for (const [i, m] of newestFirst.entries()) {
      const item = items.nth(i)
      expect(await item.locator('.prompt').textContent()).toBe(m.prompt)
      expect(await item.locator('.model').textContent()).toBe(m.model)
      expect(await item.locator('.cost').textContent()).toBe(m.usd)
      expect(await item.locator('.cost').getAttribute('data-amount')).toBe(m.amount)
      // A test network: the transaction is shown, not linked to an explorer.
      expect(await item.locator('.tx').textContent()).toContain(m.transaction.slice(0, 8))
      expect(await item.locator('.tx a').count()).toBe(0)
    }
    // Thumbnails load (made by the proxy on first ask).
    await expect.poll(() => page.locator('#grid img').evaluateAll((imgs) => imgs.filter((img) => (img as HTMLImageElement).complete && (img as HTMLImageElement).naturalWidth > 0).length)).toBe(3)
    expect(await page.locator('#count').textContent()).toBe('3 images')
    expect(await page.locator('#summary').textContent()).toBe('3 images')
    await page.screenshot({ path: await artifactPath('gallery.png'), fullPage: true })

    // Filters: by model, by words of the prompt, by day; the address keeps them.
    await page.selectOption('#f-model', 'zai/cogview-4')
    await expect.poll(() => items.count()).toBe(1)
    expect(await items.first().locator('.prompt').textContent()).toBe('a lighthouse at dusk')
    expect(page.url()).toContain('model=zai%2Fcogview-4')
    // Filters changed faster than the proxy answers: the last choice wins, nothing is left loading.
    await page.evaluate(() => {
      const select = document.querySelector('#f-model') as HTMLSelectElement
      for (const value of ['google/nano-banana', 'zai/cogview-4', 'google/nano-banana']) {
        select.value = value
        select.dispatchEvent(new Event('change'))
      }
    })
    await expect.poll(() => items.count()).toBe(2)
    expect(await items.evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-model')))).toEqual(['google/nano-banana', 'google/nano-banana'])
    await page.selectOption('#f-model', '')
    await page.fill('#f-q', 'fox')
    await expect.poll(() => page.locator('#count').textContent()).toBe('1 image match')
    expect(await items.first().locator('.prompt').textContent()).toBe('a red fox in fresh snow')
    await page.fill('#f-q', '')
    await expect.poll(() => items.count()).toBe(3)
    const today = dayKey(TIME_ZONE, Date.now())
    expect(await page.locator('#f-day option').evaluateAll((options) => options.map((o) => (o as HTMLOptionElement).value))).toEqual(['', today])
    await page.selectOption('#f-day', today)
    await expect.poll(() => page.locator('#count').textContent()).toBe('3 images match')
    await page.selectOption('#f-day', '')

    // The viewer: the full image, the facts, the receipt, and "use as edit input".
    await items.nth(0).locator('.tile').click()
    const viewer = page.locator('#viewer')
    await expect.poll(() => viewer.evaluate((d) => (d as HTMLDialogElement).open)).toBe(true)
    const newest = newestFirst[0]!
    await expect.poll(() => page.locator('#v-img').evaluate((img) => (img as HTMLImageElement).naturalWidth)).toBeGreaterThan(0)
    expect(await page.locator('#v-prompt').textContent()).toBe(newest.prompt)
    expect(await page.locator('#v-facts').textContent()).toContain(`${newest.usd} USDC (${newest.amount} base units)`)
    await expect.poll(() => page.locator('#v-receipt').textContent()).toContain(newest.receipt)
    expect(await page.locator('#v-receipt').textContent()).toContain(join(served.home, 'images', newest.file))
    await page.click('#v-edit')
    const request = await page.locator('#v-edit-text').textContent()
    expect(request).toContain(`${served.proxy.url}/v1/images/image2image`)
    expect(request).toContain(`"image":"${served.proxy.url}/images/${newest.file}"`)
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(request)
    await page.selectOption('#v-edit-form', 'cli')
    await expect.poll(() => page.locator('#v-edit-text').textContent()).toBe(`imagegen edit '${join(served.home, 'images', newest.file)}' "describe the change here"`)
    await page.screenshot({ path: await artifactPath('gallery-viewer.png') })
    await page.keyboard.press('ArrowRight')
    await expect.poll(() => page.locator('#v-prompt').textContent()).toBe(newestFirst[1]!.prompt)
    await page.keyboard.press('Escape')
    await expect.poll(() => viewer.evaluate((d) => (d as HTMLDialogElement).open)).toBe(false)

    // The spend view: today's bar holds each model's spend, against the daily budget.
    await page.click('#tab-spend')
    const todayBar = page.locator(`#chart g.day[data-day="${today}"]`)
    await expect.poll(() => todayBar.count()).toBe(1)
    const spent = made.reduce((sum, m) => sum + BigInt(m.amount), 0n)
    expect(await todayBar.getAttribute('data-spent')).toBe(spent.toString())
    const perModel = await todayBar.locator('rect[data-model]').evaluateAll((rects) => rects.map((r) => [r.getAttribute('data-model'), r.getAttribute('data-amount')]))
    const expected = new Map<string, bigint>()
    for (const m of made) expected.set(m.model, (expected.get(m.model) ?? 0n) + BigInt(m.amount))
    expect(Object.fromEntries(perModel)).toEqual(Object.fromEntries([...expected].map(([model, amount]) => [model, amount.toString()])))
    expect(await page.locator('#chart svg g.day').count()).toBe(30)
    expect(await page.locator('#chart').textContent()).toContain('daily budget $5.00')
    expect(await page.locator('#window-spent').textContent()).toBe((await (await fetch(`${served.proxy.url}/v1/usage?days=1`)).json() as any).budget.spentLast24hUsd)
    expect(await page.locator('#models tr').count()).toBe(2)
    expect(page.url()).toContain('view=spend')
    await page.screenshot({ path: await artifactPath('gallery-spend.png'), fullPage: true })
    expect(complaints).toEqual([])
    await page.context().close()
  })

  it('an address whose # is not an image name (a malformed escape, say, from a link elsewhere) still shows the gallery', async () => {
    const { page, complaints } = await watchedPage(browser)
    await page.goto(`${served.proxy.url}/#%E0%A4%A`)
    await expect.poll(() => page.locator('#grid .item').count()).toBe(made.length)
    expect(await page.locator('#viewer').evaluate((d) => (d as HTMLDialogElement).open)).toBe(false)
    expect(complaints).toEqual([])
    await page.context().close()
  })

  it('shows what agents and the shared folder put in the index as text: markup in a prompt, model, receipt or file path runs nothing', async () => {
    const { page, complaints } = await watchedPage(browser)
    const dialogs: string[] = []
    page.on('dialog', (dialog) => void dialog.dismiss().then(() => dialogs.push(dialog.message())))
    const dir = join(served.home, 'images')
    const file = `${Date.now() + 60_000}-00112233aabbccdd.png`
    await copyFile(join(dir, made[0]!.file), join(dir, file))
    const hostile = (n: number) => `"><img src=x onerror=alert(${n})><script>alert(${n})</script>`
    const line = {
      kind: 'receipt', v: 1, id: `r${hostile(1)}`, started: Date.now(), t: Date.now(), route: '/v1/images/generations', prompt: hostile(2), promptSha256: '0', model: `<b onmouseover=alert(3)>m</b>`, requestedModel: 'javascript:alert(4)', size: hostile(5), n: 1, notes: [hostile(6)],
      payment: { id: 'p', amount: '1', network: 'eip155:8453', asset: hostile(7), payTo: hostile(8), payer: hostile(9), transaction: 'javascript:alert(10)', status: 'settled' },
      outputs: [{ file, path: `${join(dir, file)}${hostile(11)}`, bytes: 1, mimeType: 'image/png', sha256: hostile(12), revisedPrompt: hostile(13) }],
    }
    await appendFile(join(served.home, 'receipts.jsonl'), `${JSON.stringify(line)}\n`)
    await page.goto(`${served.proxy.url}/#${file}`)
    await expect.poll(() => page.locator('#v-receipt').textContent()).toContain(line.id)
    expect(await page.locator(`#grid .item[data-file="${file}"] .prompt`).textContent()).toBe(line.prompt)
    expect(await page.locator('#v-facts').textContent()).toContain(line.model)
    expect(await page.locator('#v-facts a').count()).toBe(0)
    await page.selectOption('#v-edit-form', 'cli')
    await page.click('#v-edit')
    expect(await page.locator('#v-edit-text').textContent()).toBe(`imagegen edit '${line.outputs[0]!.path}' "describe the change here"`)
    expect(await page.locator('#grid img[src="x"], #viewer img[src="x"], script:not([src])').count()).toBe(0)
    expect(dialogs).toEqual([])
    expect(complaints).toEqual([])
    await page.context().close()
  })

  it('in token mode, a browser sees how to sign in, then the gallery through the link `imagegen gallery` prints', async () => {
    const tokenServed = await servedHome(['--auth', 'token'])
    try {
      const token = (await readFile(join(tokenServed.home, 'proxy.token'), 'utf8')).trim()
      const [m] = await make(tokenServed.proxy.url, [['google/nano-banana', 'a heron in the reeds']], { authorization: `Bearer ${token}` })
      const { page, complaints } = await watchedPage(browser)
      const refused = await page.goto(`${tokenServed.proxy.url}/`)
      expect(refused?.status()).toBe(401)
      expect(await page.locator('h1').textContent()).toContain('not signed in')
      const run = await runCli(['gallery', '--no-open', '--port', String(tokenServed.proxy.port), '--home', tokenServed.home])
      expect(run.code, run.stderr).toBe(0)
      const [address, link] = run.stdout.trim().split('\n')
      expect(address).toBe(`${tokenServed.proxy.url}/`)
      expect(link).toMatch(new RegExp(`^${tokenServed.proxy.url}/auth/browser\\?code=`))
      await page.goto(link!)
      expect(new URL(page.url()).pathname).toBe('/')
      await expect.poll(() => page.locator('#grid .item').count()).toBe(1)
      expect(await page.locator('#grid .item .cost').textContent()).toBe(m!.usd)
      await page.screenshot({ path: await artifactPath('gallery-token-mode.png') })
      // 401 for the sign-in page itself is the one complaint expected.
      expect(complaints.filter((c) => !c.includes('401'))).toEqual([])
      await page.context().close()
    } finally {
      await tokenServed.proxy.stop()
      await tokenServed.sandbox.close()
    }
  })
})

describe('the browser tests', () => {
  it.skipIf(!process.env.CI)('ran in CI: Chromium is installed there (.ci/run)', () => {
    expect(chromiumUnavailable).toBeUndefined()
  })
})
