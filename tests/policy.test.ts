/**
 * The spend policy: every limit refuses before anything is signed. End to end, "nothing signed" is
 * checked where it cannot be faked: the sandbox counts every payment header it receives, and the
 * ledger (written before any signed request leaves) has no entry at all.
 */
import { readFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import type { PaymentRequired, PaymentRequirements } from '@x402/core/types'
import fc from 'fast-check'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { spawnProxy } from './helpers/processes.js'
import { resolveSettings, settingsFromEnv, type SpendPolicy } from '../server/config.js'
import { settingsFromFlags } from '../server/cli/options.js'
import { startProxy } from '../server/http/server.js'
import { BASE, BASE_SEPOLIA } from '../server/payment/networks.js'
import { choosePayment } from '../server/payment/policy.js'
import { SANDBOX_PAY_TO } from '../server/sandbox/app.js'
import { startSandbox, type RunningSandbox } from '../server/sandbox/server.js'
import { loadWallet } from '../server/wallet/key.js'
import { startStack, tempHome, type Stack } from './helpers/stack.js'

const CLI = join(import.meta.dirname, '..', 'dist', 'server', 'cli', 'index.js')
/** A requirement's amount in the unit tests below: $0.041. */
const FLUX_PRICE = 41_000n
const OTHER_PAYEE = '0x00000000000000000000000000000000000000aa'

const defaults = (overrides: Parameters<typeof resolveSettings>[0] = {}): SpendPolicy => resolveSettings({ home: '/tmp/unused', ...overrides }).policy

function requirement(overrides: Partial<PaymentRequirements> & Record<string, unknown> = {}): PaymentRequirements {
  return {
    scheme: 'exact',
    network: BASE.caip2,
    asset: BASE.usdc,
    amount: '41000',
    payTo: SANDBOX_PAY_TO,
    maxTimeoutSeconds: 300,
    extra: { ...BASE.usdcDomain },
    ...overrides,
  } as PaymentRequirements
}

function v2(...accepts: PaymentRequirements[]): PaymentRequired {
  return { x402Version: 2, resource: { url: 'http://x/v1/images/generations' }, accepts } as PaymentRequired
}

function refusal(required: PaymentRequired, policy: SpendPolicy) {
  const decision = choosePayment(required, policy)
  if (decision.allowed) throw new Error(`expected a refusal, got ${decision.option.amount}`)
  return decision.error
}

describe('choosePayment (pure)', () => {
  it('defaults: $0.50 cap, $5.00 budget, USDC on Base and Base Sepolia, any payee, 900 s', () => {
    const policy = defaults()
    expect(policy.maxPerRequest).toBe(500_000n)
    expect(policy.dailyBudget).toBe(5_000_000n)
    expect(policy.networks.map((n) => n.caip2)).toEqual(['eip155:8453', 'eip155:84532'])
    expect(policy.payees).toBeNull()
    expect(policy.maxTimeoutSeconds).toBe(900)
  })

  it('picks the cheapest acceptable requirement, exactly as sent', () => {
    const cheap = requirement({ amount: '30000', network: BASE_SEPOLIA.caip2, asset: BASE_SEPOLIA.usdc })
    const decision = choosePayment(v2(requirement({ amount: '45000' }), cheap, requirement({ amount: '900000' })), defaults())
    expect(decision.allowed).toBe(true)
    if (decision.allowed) {
      expect(decision.option.amount).toBe(30_000n)
      expect(decision.option.raw).toBe(cheap)
      expect(decision.option.network).toBe(BASE_SEPOLIA)
    }
  })

  it('reads x402 v1 (maxAmountRequired, network names)', () => {
    const raw = { scheme: 'exact', network: 'base-sepolia', maxAmountRequired: '41000', asset: BASE_SEPOLIA.usdc, payTo: SANDBOX_PAY_TO, maxTimeoutSeconds: 300, resource: 'x', description: '', mimeType: '' }
    const decision = choosePayment({ x402Version: 1, accepts: [raw] } as unknown as PaymentRequired, defaults())
    expect(decision.allowed && decision.option.amount).toBe(41_000n)
    expect(decision.allowed && decision.option.x402Version).toBe(1)
  })

  it('per-request cap: spend_limit_exceeded naming the price, the cap and how to raise it', () => {
    const error = refusal(v2(requirement({ amount: '41000' })), defaults({ maxPerRequest: '0.04' }))
    expect(error.status).toBe(402)
    expect(error.type).toBe('spend_limit_exceeded')
    expect(error.code).toBe('max_per_request')
    expect(error.message).toContain('$0.041')
    expect(error.message).toContain('per-request cap of $0.04')
    expect(error.message).toContain('BLOCKRUN_MAX_PER_REQUEST')
    expect(error.message).toContain('--max-per-request')
    // Exactly at the cap is allowed.
    expect(choosePayment(v2(requirement({ amount: '40000' })), defaults({ maxPerRequest: '0.04' })).allowed).toBe(true)
  })

  const notAllowed: Array<[string, PaymentRequirements, SpendPolicy, RegExp, string]> = [
    ['network', requirement(), defaults({ networks: 'eip155:84532' }), /network eip155:8453 is not allowed/, 'BLOCKRUN_ALLOWED_NETWORKS'],
    ['unknown network', requirement({ network: 'eip155:1' }), defaults(), /network eip155:1 is not allowed/, 'BLOCKRUN_ALLOWED_NETWORKS'],
    ['asset', requirement({ asset: '0x4200000000000000000000000000000000000006' }), defaults(), /is not USDC on Base/, 'cannot be changed'],
    ['USDC of another chain', requirement({ asset: BASE_SEPOLIA.usdc }), defaults(), /is not USDC on Base/, 'cannot be changed'],
    ['payee', requirement(), defaults({ payees: OTHER_PAYEE }), /payee 0x0+b10c is not on the allowed payee list/i, 'BLOCKRUN_ALLOWED_PAYEES'],
    ['authorization lifetime', requirement({ maxTimeoutSeconds: 3600 }), defaults(), /lifetime 3600 s exceeds the allowed 900 s/, 'BLOCKRUN_MAX_TIMEOUT_SECONDS'],
    ['scheme', requirement({ scheme: 'upto' }), defaults(), /scheme "upto" is not supported/, 'exact'],
  ]
  for (const [name, raw, policy, detail, how] of notAllowed) {
    it(`${name}: payment_not_allowed naming the limit, the price and how to change it`, () => {
      const error = refusal(v2(raw), policy)
      expect(error.status).toBe(402)
      expect(error.type).toBe('payment_not_allowed')
      expect(error.message).toMatch(detail)
      expect(error.message).toContain('$0.041')
      expect(error.message).toContain(how)
      expect(error.message).toContain('nothing was signed')
    })
  }

  it('when one option is only over the cap and another is not allowed at all, the cap is what to change', () => {
    const error = refusal(v2(requirement({ network: 'eip155:1' }), requirement({ amount: '600000' })), defaults())
    expect(error.type).toBe('spend_limit_exceeded')
    expect(error.message).toContain('$0.60')
  })

  it('fails closed on anything unreadable', () => {
    for (const raw of [
      requirement({ amount: '1e6' }),
      requirement({ amount: '-5' }),
      requirement({ amount: '0' }),
      requirement({ amount: 41000 as unknown as string }),
      requirement({ payTo: 'somebody' }),
      requirement({ maxTimeoutSeconds: 'soon' as unknown as number }),
      requirement({ network: undefined as unknown as `${string}:${string}` }),
    ]) {
      expect(choosePayment(v2(raw), defaults()).allowed).toBe(false)
    }
    expect(refusal(v2(), defaults()).type).toBe('payment_not_allowed')
    expect(refusal({ x402Version: 2 } as PaymentRequired, defaults()).type).toBe('payment_not_allowed')
  })

  it('property: whatever is offered, an allowed choice respects every limit', () => {
    const networks = [BASE, BASE_SEPOLIA]
    const payees = [SANDBOX_PAY_TO, OTHER_PAYEE, '0x00000000000000000000000000000000000000bb']
    const arbitraryRequirement = fc.record({
      network: fc.constantFrom('eip155:8453', 'eip155:84532', 'eip155:1', 'base', 'solana:mainnet'),
      usdc: fc.boolean(),
      amount: fc.bigInt({ min: 0n, max: 2_000_000n }),
      payTo: fc.constantFrom(...payees),
      timeout: fc.integer({ min: 0, max: 2000 }),
    })
    fc.assert(
      fc.property(
        fc.array(arbitraryRequirement, { maxLength: 5 }),
        fc.bigInt({ min: 1n, max: 1_000_000n }),
        fc.subarray(networks, { minLength: 1 }),
        fc.option(fc.subarray(payees, { minLength: 1 }), { nil: null }),
        fc.integer({ min: 1, max: 1000 }),
        (offers, cap, allowedNetworks, allowedPayees, maxTimeout) => {
          const policy: SpendPolicy = { maxPerRequest: cap, dailyBudget: 5_000_000n, networks: allowedNetworks, payees: allowedPayees, maxTimeoutSeconds: maxTimeout }
          const accepts = offers.map((o) => {
            const known = networks.find((n) => n.caip2 === o.network || n.v1 === o.network)
            return requirement({ network: o.network as `${string}:${string}`, asset: o.usdc && known ? known.usdc : '0x4200000000000000000000000000000000000006', amount: o.amount.toString(), payTo: o.payTo, maxTimeoutSeconds: o.timeout })
          })
          const decision = choosePayment(v2(...accepts), policy)
          if (!decision.allowed) return
          const { option } = decision
          expect(option.amount).toBeGreaterThan(0n)
          expect(option.amount).toBeLessThanOrEqual(cap)
          expect(allowedNetworks).toContain(option.network)
          expect(option.asset.toLowerCase()).toBe(option.network.usdc.toLowerCase())
          if (allowedPayees) expect(allowedPayees).toContain(option.payTo)
          expect(option.maxTimeoutSeconds).toBeLessThanOrEqual(maxTimeout)
          expect(accepts).toContain(option.raw)
        },
      ),
      { numRuns: 500 },
    )
  })
})

describe('settings', () => {
  it('every limit is read from BLOCKRUN_* variables', () => {
    const policy = resolveSettings(
      settingsFromEnv({
        BLOCKRUN_MAX_PER_REQUEST: '0.12',
        BLOCKRUN_DAILY_BUDGET: '1.5',
        BLOCKRUN_ALLOWED_NETWORKS: 'base-sepolia',
        BLOCKRUN_ALLOWED_PAYEES: `${OTHER_PAYEE.toUpperCase().replace('0X', '0x')}, ${SANDBOX_PAY_TO}`,
        BLOCKRUN_MAX_TIMEOUT_SECONDS: '120',
      }),
    ).policy
    expect(policy.maxPerRequest).toBe(120_000n)
    expect(policy.dailyBudget).toBe(1_500_000n)
    expect(policy.networks).toEqual([BASE_SEPOLIA])
    expect(policy.payees).toEqual([OTHER_PAYEE, SANDBOX_PAY_TO.toLowerCase()])
    expect(policy.maxTimeoutSeconds).toBe(120)
  })

  it('CLI flags win over the environment', () => {
    const saved = { ...process.env }
    try {
      Object.assign(process.env, { BLOCKRUN_MAX_PER_REQUEST: '0.12', BLOCKRUN_DAILY_BUDGET: '1.5', BLOCKRUN_MAX_TIMEOUT_SECONDS: '120', BLOCKRUN_ALLOWED_NETWORKS: 'eip155:8453' })
      const policy = settingsFromFlags({ 'max-per-request': '0.02', 'daily-budget': '0.30', 'max-timeout-seconds': '60', networks: 'eip155:84532', payees: OTHER_PAYEE }).policy
      expect(policy).toMatchObject({ maxPerRequest: 20_000n, dailyBudget: 300_000n, maxTimeoutSeconds: 60, networks: [BASE_SEPOLIA], payees: [OTHER_PAYEE] })
      expect(settingsFromFlags({}).policy).toMatchObject({ maxPerRequest: 120_000n, dailyBudget: 1_500_000n, maxTimeoutSeconds: 120, networks: [BASE] })
    } finally {
      process.env = saved
    }
  })

  it('a bad value is refused with the setting named', () => {
    expect(() => resolveSettings({ maxPerRequest: 'lots' })).toThrow(/max per request/)
    expect(() => resolveSettings({ dailyBudget: '-1' })).toThrow(/daily budget/)
    expect(() => resolveSettings({ networks: 'eip155:1' })).toThrow(/allowed networks: unknown network "eip155:1"/)
    expect(() => resolveSettings({ payees: 'bob' })).toThrow(/allowed payees/)
    expect(() => resolveSettings({ maxTimeoutSeconds: '0' })).toThrow(/max timeout seconds/)
  })
})

/** Lines of the ledger file, parsed; none at all when it was never written. */
async function ledgerLines(home: string): Promise<Array<{ kind: string }>> {
  const text = await readFile(join(home, 'ledger.jsonl'), 'utf8').catch(() => '')
  return text.split('\n').filter(Boolean).map((line) => JSON.parse(line))
}

describe('each limit refuses end to end with no signature', () => {
  let stack: Stack | undefined
  afterEach(async () => {
    await stack?.close()
    stack = undefined
  })

  // gpt-image-1 at 1536x1024: $0.04 × 1.05 + $0.001 = $0.043.
  const cases: Array<[string, Parameters<typeof startStack>[0], string, RegExp]> = [
    ['per-request cap', { settings: { maxPerRequest: '0.04' } }, 'spend_limit_exceeded', /asks \$0\.043 .*per-request cap of \$0\.04.*BLOCKRUN_MAX_PER_REQUEST/],
    ['allowed networks', { settings: { networks: 'eip155:8453' } }, 'payment_not_allowed', /\$0\.043.*network eip155:84532 is not allowed.*BLOCKRUN_ALLOWED_NETWORKS/],
    ['payee allowlist', { settings: { payees: OTHER_PAYEE } }, 'payment_not_allowed', /\$0\.043.*payee 0x0+b10c is not on the allowed payee list.*BLOCKRUN_ALLOWED_PAYEES/i],
    ['authorization lifetime', { settings: { maxTimeoutSeconds: '60' } }, 'payment_not_allowed', /\$0\.043.*lifetime 600 s exceeds the allowed 60 s.*BLOCKRUN_MAX_TIMEOUT_SECONDS/],
    ['x402 v1, per-request cap', { sandbox: { version: 1 }, settings: { maxPerRequest: '0.01' } }, 'spend_limit_exceeded', /\$0\.043.*BLOCKRUN_MAX_PER_REQUEST/],
  ]
  for (const [name, options, type, message] of cases) {
    it(name, async () => {
      stack = await startStack(options)
      const { status, body } = await stack.post('/v1/images/generations', { model: 'gpt-image', size: '1536x1024', prompt: `refused by ${name}` })
      expect(status, JSON.stringify(body)).toBe(402)
      expect(body.error.type).toBe(type)
      expect(body.error.message).toMatch(message)
      expect(stack.sandbox.counters.imageRequests).toBe(1) // the unpaid request only
      expect(stack.sandbox.counters.authorizations).toBe(0)
      expect(stack.sandbox.usdc.transfers).toHaveLength(0)
      expect(await ledgerLines(stack.home)).toEqual([])
      // Refusing is stable: a second try refuses the same way, still unsigned.
      expect((await stack.post('/v1/images/generations', { model: 'gpt-image', size: '1536x1024', prompt: 'again' })).body.error.type).toBe(type)
      expect(stack.sandbox.counters.authorizations).toBe(0)
    })
  }

  it('the 24-hour budget: the payment that would cross it is refused unsigned', async () => {
    stack = await startStack({ settings: { dailyBudget: '0.10' } })
    const statuses: number[] = []
    for (let i = 0; i < 3; i++) statuses.push((await stack.post('/v1/images/generations', { model: 'gpt-image', size: '1536x1024', prompt: `budget ${i}` })).status)
    expect(statuses).toEqual([200, 200, 402]) // 2 × $0.043 = $0.086; a third would be $0.129
    const { body } = await stack.post('/v1/images/generations', { model: 'gpt-image', size: '1536x1024', prompt: 'budget 4' })
    expect(body.error.type).toBe('spend_limit_exceeded')
    expect(body.error.code).toBe('daily_budget')
    expect(body.error.message).toContain('$0.043')
    expect(body.error.message).toContain('24-hour budget of $0.10')
    expect(body.error.message).toContain('$0.014 left')
    expect(body.error.message).toContain('BLOCKRUN_DAILY_BUDGET')
    expect(stack.sandbox.counters.authorizations).toBe(2)
    expect(stack.sandbox.usdc.transfers).toHaveLength(2)
    expect((await ledgerLines(stack.home)).filter((l) => l.kind === 'signed')).toHaveLength(2)
  })
})

/**
 * A hostile upstream: answers every image request with a hand-made 402 (so it can ask for things
 * the sandbox never would: another token, another chain) and counts payment headers received.
 */
async function startHostileUpstream(accepts: PaymentRequirements[]): Promise<{ url: string; paymentHeaders: number; close(): Promise<void> }> {
  const state = { paymentHeaders: 0 }
  const server: Server = createServer((request, response) => {
    if (request.headers['payment-signature'] || request.headers['x-payment']) state.paymentHeaders++
    const required = { x402Version: 2, error: 'Payment required', resource: { url: `http://hostile${request.url}` }, accepts }
    response.writeHead(402, { 'content-type': 'application/json', 'PAYMENT-REQUIRED': Buffer.from(JSON.stringify(required)).toString('base64') })
    response.end('{}')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get paymentHeaders() {
      return state.paymentHeaders
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

describe('a hostile upstream asking for what the policy forbids', () => {
  const offers: Array<[string, PaymentRequirements[], string, RegExp]> = [
    ['another token on Base', [requirement({ asset: '0x4200000000000000000000000000000000000006' })], 'payment_not_allowed', /is not USDC on Base/],
    ['USDC on a chain we do not pay on', [requirement({ network: 'eip155:1', asset: '0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48' })], 'payment_not_allowed', /network eip155:1 is not allowed/],
    ['$250 for one image', [requirement({ amount: '250000000' })], 'spend_limit_exceeded', /asks \$250\.00/],
    ['a week-long authorization', [requirement({ maxTimeoutSeconds: 604800 })], 'payment_not_allowed', /lifetime 604800 s/],
  ]
  for (const [name, accepts, type, message] of offers) {
    it(`${name}: refused, no payment header ever sent`, async () => {
      const hostile = await startHostileUpstream(accepts)
      const home = await tempHome()
      const proxy = await startProxy(resolveSettings({ home, port: 0, upstream: hostile.url }))
      try {
        const response = await fetch(`${proxy.url}/v1/images/generations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-image', size: '1536x1024', prompt: name }) })
        const body = await response.json()
        expect(response.status).toBe(402)
        expect(body.error.type).toBe(type)
        expect(body.error.message).toMatch(message)
        expect(hostile.paymentHeaders).toBe(0)
        expect(await ledgerLines(home)).toEqual([])
      } finally {
        await proxy.close()
        await hostile.close()
      }
    })
  }
})

describe('limits reach a real `imagegen serve` process', () => {
  let sandbox: RunningSandbox
  let home: string
  beforeAll(async () => {
    home = await tempHome()
    const wallet = await loadWallet({ home })
    sandbox = await startSandbox({ jobMs: 50, fund: { [wallet.address]: 10_000_000n } })
  })
  afterAll(async () => sandbox.close())

  it('from the environment and from flags', async () => {
    const env = { BLOCKRUN_HOME: home, BLOCKRUN_API_URL: sandbox.url, BLOCKRUN_MAX_PER_REQUEST: '0.02', BASE_RPC_URL: 'http://127.0.0.1:9', BASE_SEPOLIA_RPC_URL: 'http://127.0.0.1:9' }
    const byEnv = await spawnProxy({ env })
    const byFlag = await spawnProxy({ args: ['--max-per-request', '5', '--payees', OTHER_PAYEE], env })
    try {
      const post = (base: string) => fetch(`${base}/v1/images/generations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-image', size: '1536x1024', prompt: 'child' }) }).then(async (r) => ({ status: r.status, body: await r.json() }))
      const refusedByEnv = await post(byEnv.url)
      expect(refusedByEnv.status).toBe(402)
      expect(refusedByEnv.body.error.message).toMatch(/per-request cap of \$0\.02/)
      // The flag raised the cap above the price, and the payee flag refuses the sandbox's payee.
      const refusedByFlag = await post(byFlag.url)
      expect(refusedByFlag.status).toBe(402)
      expect(refusedByFlag.body.error.type).toBe('payment_not_allowed')
      expect(refusedByFlag.body.error.message).toMatch(/allowed payee list/)
      expect(sandbox.counters.authorizations).toBe(0)
      expect(await ledgerLines(home)).toEqual([])
    } finally {
      await byEnv.stop()
      await byFlag.stop()
    }
  })
})
