/**
 * Knowing the price before paying: `POST /v1/images/quote` asks the gateway (the sandbox's real
 * x402 paywall) and signs nothing; `max_price` refuses a higher price before signing; the
 * confirmation threshold refuses a payment the user has not agreed to, and only our own front
 * doors (the proxy token) can carry that agreement.
 */
import { randomBytes } from 'node:crypto'
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readLedger } from '../server/payment/ledger.js'
import { runCli } from './helpers/processes.js'
import { startStack, type Stack } from './helpers/stack.js'

describe('quotes and max_price', () => {
  let stack: Stack
  beforeAll(async () => {
    stack = await startStack({ settings: { confirmAbove: '0.10' } })
  })
  afterAll(() => stack.close())

  it('a quote is the amount then paid, asked of the gateway, and signs nothing', async () => {
    const body = { model: 'gpt-image', prompt: 'a lighthouse', size: '1536x1024' }
    const quote = await stack.post('/v1/images/quote', body)
    expect(quote.status, JSON.stringify(quote.body)).toBe(200)
    expect(quote.body).toMatchObject({
      object: 'quote',
      kind: 'generate',
      model: 'openai/gpt-image-1',
      size: '1536x1024',
      n: 1,
      amount: '43000', // $0.04 × 1.05 + $0.001
      usd: '$0.043',
      chain: 'base',
      network: 'eip155:84532',
      pay_to: '0x000000000000000000000000000000000000b10c',
      source: 'upstream',
      allowed: true,
      policy: { allowed: true },
      budget: { daily_usd: '$5.00', remaining_usd: '$5.00', fits: true },
      confirmation: { above_usd: '$0.10', needed: false },
      signed: false,
    })
    expect(quote.body.estimate).toEqual({ amount: '43000', usd: '$0.043' })
    // The gateway was asked once, unpaid; nothing was signed, reserved or sent paid.
    expect(stack.sandbox.counters.imageRequests).toBe(1)
    expect(stack.sandbox.counters.authorizations).toBe(0)
    expect(await readLedger(stack.home)).toEqual([])

    // (answered from the requirements the first quote remembered)
    // A generation body's max_price is checked; its idempotency_key is said to do nothing here.
    const guarded = await stack.post('/v1/images/quote', { ...body, max_price: '0.04', idempotency_key: 'k1' })
    expect(guarded.body).toMatchObject({ amount: '43000', allowed: false })
    expect(guarded.body.notes).toEqual([
      'idempotency_key was not applied: a quote pays nothing, so there is nothing to repeat.',
      'The price is above the max_price of $0.04 given: that call would be refused before signing.',
    ])
    expect(stack.sandbox.counters.imageRequests).toBe(1)

    // A second quote within minutes is answered from the gateway's requirements, with no request.
    const again = await stack.post('/v1/images/quote', body)
    expect(again.body).toMatchObject({ amount: '43000', source: 'cached', notes: [] })
    expect(stack.sandbox.counters.imageRequests).toBe(1)

    // Paying with max_price at the quote: the same amount settles, on the first request.
    const paid = await stack.post('/v1/images/generations', { ...body, max_price: quote.body.usd.slice(1) })
    expect(paid.status, JSON.stringify(paid.body)).toBe(200)
    expect(paid.body.cost.amount).toBe(quote.body.amount)
    expect(stack.sandbox.usdc.transfers.at(-1)!.amount).toBe(BigInt(quote.body.amount))
    expect(stack.sandbox.counters.imageRequests).toBe(2)
  })

  it('quotes an edit from its body with the image, and says what the limits make of a price', async () => {
    const photo = join(stack.home, 'photo.png')
    await sharp({ create: { width: 512, height: 512, channels: 3, background: '#336699' } }).png().toFile(photo)
    const edit = await stack.post('/v1/images/quote', { prompt: 'make it night', image: photo, model: 'nano-banana' })
    expect(edit.status, JSON.stringify(edit.body)).toBe(200)
    expect(edit.body).toMatchObject({ kind: 'edit', model: 'google/nano-banana', amount: '53500', allowed: true })
    // An edit's image inline, larger than any other body the proxy takes: a quote takes what an edit does.
    const noise = await sharp(randomBytes(512 * 512 * 3), { raw: { width: 512, height: 512, channels: 3 } }).png().toBuffer()
    expect(noise.length).toBeGreaterThan(300 * 1024)
    const inline = await stack.post('/v1/images/quote', { prompt: 'make it night', image: `data:image/png;base64,${noise.toString('base64')}`, model: 'gpt-image' })
    expect(inline.status, JSON.stringify(inline.body).slice(0, 300)).toBe(200)
    expect(inline.body).toMatchObject({ kind: 'edit', model: 'openai/gpt-image-1', amount: '22000' })

    // Over the confirmation threshold and the per-request cap: said, not refused (a quote pays nothing).
    const big = await stack.post('/v1/images/quote', { model: 'banana-pro', size: '4096x4096', prompt: 'a poster', n: 4 })
    expect(big.status).toBe(200)
    expect(big.body).toMatchObject({ amount: '631000', allowed: false, confirmation: { needed: true } }) // 4 × $0.15 × 1.05 + $0.001
    expect(big.body.policy).toMatchObject({ allowed: false, code: 'max_per_request' })
    expect(big.body.policy.message).toContain('$0.631')
    expect(stack.sandbox.counters.authorizations).toBe(1)
  })

  it('a quote refuses what a paid call would refuse, before asking the gateway', async () => {
    const requests = stack.sandbox.counters.requests
    const bad = await stack.post('/v1/images/quote', { model: 'gpt-image', prompt: 'x', size: '999x999' })
    expect(bad.status).toBe(400)
    expect(bad.body.error.code).toBe('invalid_size')
    expect(stack.sandbox.counters.requests).toBe(requests)
  })

  it('max_price below the ask refuses before signing, naming the price', async () => {
    const before = await readLedger(stack.home)
    const authorizations = stack.sandbox.counters.authorizations
    const refused = await stack.post('/v1/images/generations', { model: 'nano-banana', prompt: 'too dear', max_price: '0.05' })
    expect(refused.status).toBe(402)
    expect(refused.body.error).toMatchObject({ type: 'spend_limit_exceeded', code: 'max_price_exceeded', param: 'max_price' })
    expect(refused.body.error.message).toBe(
      'The upstream asks $0.0535 for this request, over the max_price of $0.05 set for this call. Nothing was signed. Tell the user the price ($0.0535); if they accept it, call again with max_price "0.0535".',
    )
    expect(stack.sandbox.counters.authorizations).toBe(authorizations)
    expect(await readLedger(stack.home)).toEqual(before)
    // A number works as well as a string; at the price exactly, it pays.
    const ok = await stack.post('/v1/images/generations', { model: 'nano-banana', prompt: 'at the price', max_price: 0.0535 })
    expect(ok.status, JSON.stringify(ok.body)).toBe(200)
    expect(ok.body.cost.amount).toBe('53500')
  })

  it('max_price from cached requirements above it still asks the gateway afresh, and signs nothing', async () => {
    // The route's requirements are remembered now; the cap under them must not sign, nor stop a fresh look.
    const authorizations = stack.sandbox.counters.authorizations
    const requests = stack.sandbox.counters.imageRequests
    const refused = await stack.post('/v1/images/generations', { model: 'nano-banana', prompt: 'cached', max_price: '0.01' })
    expect(refused.body.error.code).toBe('max_price_exceeded')
    expect(stack.sandbox.counters.imageRequests).toBe(requests + 1)
    expect(stack.sandbox.counters.authorizations).toBe(authorizations)
  })

  it('imagegen generate --quote prints the price and pays nothing; --max-price refuses a higher one', async () => {
    const env = { BLOCKRUN_HOME: stack.home, BLOCKRUN_API_URL: stack.sandbox.url, BLOCKRUN_PROXY_PORT: '1', BASE_RPC_URL: 'http://127.0.0.1:9' }
    const transfers = stack.sandbox.usdc.transfers.length
    const quoted = await runCli(['generate', 'a quoted fox', '--model', 'cogview', '--size', '1440x1440', '--quote'], { env })
    expect(quoted.code, quoted.stderr).toBe(0)
    expect(quoted.stdout).toMatch(/^Price: \$0\.022 USDC for 1 image from zai\/cogview-4 at 1440x1440, on Base Sepolia to 0x0{36}b10c /)
    expect(quoted.stdout).toContain('run it with --max-price 0.022')
    const json = JSON.parse((await runCli(['generate', 'a quoted fox', '--model', 'cogview', '--quote', '--json'], { env })).stdout)
    expect(json).toMatchObject({ object: 'quote', amount: '16750', signed: false })
    const refused = await runCli(['generate', 'a fox', '--model', 'cogview', '--size', '1440x1440', '--max-price', '0.02'], { env })
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain('The upstream asks $0.022 for this request, over the max_price of $0.02')
    const paid = await runCli(['generate', 'a fox', '--model', 'cogview', '--size', '1440x1440', '--max-price', '0.022'], { env })
    expect(paid.code, paid.stderr).toBe(0)
    expect(paid.stderr).toMatch(/cost \$0\.022 USDC on eip155:84532, tx 0x[0-9a-f]{64}, receipt [0-9a-f-]{36}/)
    expect(stack.sandbox.usdc.transfers.length).toBe(transfers + 1)
  })

  it('refuses a malformed max_price with a 400 before anything happens', async () => {
    for (const max_price of ['cheap', '-1', '0', '0.0000001', true]) {
      const response = await stack.post('/v1/images/generations', { prompt: 'x', max_price })
      expect(response.status, String(max_price)).toBe(400)
      expect(response.body.error.param).toBe('max_price')
    }
  })
})

describe('confirmation above a threshold', () => {
  let stack: Stack
  beforeAll(async () => {
    stack = await startStack({ settings: { confirmAbove: '0.05' } })
  })
  afterAll(() => stack.close())

  it('a payment above it is refused with the price and how to raise it; below it pays', async () => {
    const refused = await stack.post('/v1/images/generations', { model: 'nano-banana', prompt: 'above' })
    expect(refused.status).toBe(402)
    expect(refused.body.error.code).toBe('confirmation_required')
    expect(refused.body.error.message).toMatch(/^This request costs \$0\.0535, above \$0\.05, the price over which the user must confirm a payment\. Nothing was signed/)
    expect(refused.body.error.message).toContain('BLOCKRUN_CONFIRM_ABOVE')
    expect(stack.sandbox.counters.authorizations).toBe(0)
    const below = await stack.post('/v1/images/generations', { model: 'gpt-image', prompt: 'below' })
    expect(below.status).toBe(200)
    expect(below.body.cost.amount).toBe('22000')
  })

  it('an HTTP caller cannot consent, even one holding the proxy token (an OpenAI SDK apiKey): consent needs the consent key too', async () => {
    const token = (await readFile(join(stack.home, 'proxy.token'), 'utf8')).trim()
    const key = (await readFile(join(stack.home, 'consent.key'), 'utf8')).trim()
    expect(((await stat(join(stack.home, 'consent.key'))).mode & 0o777).toString(8)).toBe('600')
    expect(key).not.toBe(token)
    const body = { model: 'nano-banana', prompt: 'consented', max_price: '0.0535' }
    const forged = await stack.post('/v1/images/generations', body, { 'x-imagegen-consent': '53500' })
    expect(forged.body.error?.code).toBe('confirmation_required')
    const withToken = await stack.post('/v1/images/generations', body, { 'x-imagegen-consent': '53500', authorization: `Bearer ${token}` })
    expect(withToken.body.error?.code).toBe('confirmation_required')
    const wrongKey = await stack.post('/v1/images/generations', body, { 'x-imagegen-consent': '53500', authorization: `Bearer ${token}`, 'x-imagegen-consent-key': token })
    expect(wrongKey.body.error?.code).toBe('confirmation_required')
    // Our front doors send both after the proxy proved itself, having asked the user.
    const ours = { 'x-imagegen-consent': '53500', authorization: `Bearer ${token}`, 'x-imagegen-consent-key': key }
    const consented = await stack.post('/v1/images/generations', body, ours)
    expect(consented.status, JSON.stringify(consented.body)).toBe(200)
    // The consent covers that price, not more.
    const more = await stack.post('/v1/images/generations', { model: 'banana-pro', prompt: 'dearer' }, ours)
    expect(more.body.error?.code).toBe('confirmation_required')
    expect(stack.sandbox.usdc.transfers).toHaveLength(2)
  })
})
