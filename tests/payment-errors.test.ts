/**
 * Payment errors a user can act on. Every upstream way of saying "the payment did not go through"
 * becomes a 402 of type `insufficient_funds` or `payment_failed` that names the wallet, its balance
 * when it can be read (quickly), and how to fund it.
 *
 * End to end, the faults are real: an unfunded wallet against the sandbox; a relay between proxy
 * and sandbox that alters what the proxy signed (flips a signature byte, re-signs with the wrong
 * EIP-712 domain name, replays an earlier authorization), so the sandbox's real verifier refuses;
 * and a small gateway built from the sandbox's own paywall and facilitator whose funds vanish
 * between verification and settlement.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Hono } from 'hono'
import { serve } from '@hono/node-server'
import { encodeAbiParameters } from 'viem'
import { afterEach, describe, expect, it } from 'vitest'
import { resolveSettings } from '../server/config.js'
import { startProxy } from '../server/http/server.js'
import { BASE, BASE_SEPOLIA } from '../server/payment/networks.js'
import { FUND_ADVICE, paymentFailure, readRefusal } from '../server/payment/failure.js'
import { readLedger } from '../server/payment/ledger.js'
import { SandboxFacilitator, TRANSFER_WITH_AUTHORIZATION } from '../server/sandbox/facilitator.js'
import { Paywall } from '../server/sandbox/paywall.js'
import { SandboxUsdc } from '../server/sandbox/usdc.js'
import { loadWallet, type Wallet } from '../server/wallet/key.js'
import { stackThroughRelay } from './helpers/relay.js'
import { startStack, tempHome, type Stack } from './helpers/stack.js'

const WALLET = '0x1111111111111111111111111111111111111111'
const FUND = /Fund your wallet with USDC on Base at blockrun\.ai/

/** A Base/Base Sepolia JSON-RPC endpoint answering balanceOf with one figure; can hang instead. */
async function startRpc(balance: bigint, options: { hang?: boolean } = {}): Promise<{ url: string; calls: number; close(): Promise<void> }> {
  const state = { calls: 0 }
  const server: Server = createServer(async (request: IncomingMessage, response) => {
    const chunks: Buffer[] = []
    for await (const chunk of request) chunks.push(chunk as Buffer)
    state.calls++
    if (options.hang) return
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8'))
    const answer = (one: { id: number }) => ({ jsonrpc: '2.0', id: one.id, result: encodeAbiParameters([{ type: 'uint256' }], [balance]) })
    response.setHeader('content-type', 'application/json')
    response.end(JSON.stringify(Array.isArray(body) ? body.map(answer) : answer(body)))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get calls() {
      return state.calls
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64')

describe('every upstream failure form (from REFERENCE.md) maps to a clear 402', () => {
  const requirement = { scheme: 'exact', network: BASE.caip2, asset: BASE.usdc, amount: '41000', payTo: '0x000000000000000000000000000000000000b10c', maxTimeoutSeconds: 300, extra: BASE.usdcDomain }
  const v2Required = (error: string) => ({ 'PAYMENT-REQUIRED': b64({ x402Version: 2, error, resource: { url: 'https://blockrun.ai/api/v1/images/generations' }, accepts: [requirement] }) })
  const forms: Array<[string, Response, 'insufficient_funds' | 'payment_failed', RegExp]> = [
    ['v2 PAYMENT-REQUIRED error', new Response('{}', { status: 402, headers: v2Required('insufficient_funds') }), 'insufficient_funds', /does not hold enough USDC/],
    [
      'v1 body',
      new Response(JSON.stringify({ x402Version: 1, error: 'insufficient_funds', accepts: [{ ...requirement, network: 'base', maxAmountRequired: '41000' }] }), { status: 402 }),
      'insufficient_funds',
      /does not hold enough USDC/,
    ],
    [
      'BlockRun verification body',
      new Response(JSON.stringify({ error: 'Payment verification failed', details: 'Verification failed: {"isValid":false,"invalidReason":"insufficient_funds","payer":"0x1111111111111111111111111111111111111111"}' }), { status: 402 }),
      'insufficient_funds',
      /does not hold enough USDC/,
    ],
    ['BlockRun settlement body', new Response(JSON.stringify({ error: 'Settlement failed' }), { status: 402 }), 'payment_failed', /could not settle the payment \(upstream said: Settlement failed\)/],
    [
      'BlockRun settlement body with a reason',
      new Response(JSON.stringify({ error: 'Settlement failed', details: '{"success":false,"errorReason":"insufficient_funds","transaction":""}' }), { status: 402 }),
      'insufficient_funds',
      /does not hold enough USDC/,
    ],
    ['token contract revert text', new Response(JSON.stringify({ error: 'Settlement failed', details: 'execution reverted: ERC20: transfer amount exceeds balance' }), { status: 402 }), 'insufficient_funds', /does not hold enough/],
    ['v2 bad signature', new Response('{}', { status: 402, headers: v2Required('invalid_exact_evm_payload_signature') }), 'payment_failed', /signature did not verify.*invalid_exact_evm_payload_signature/],
    ['v2 replayed nonce', new Response('{}', { status: 402, headers: v2Required('invalid_exact_evm_payload_authorization_nonce_used') }), 'payment_failed', /already used.*replay/],
    ['v1 expired', new Response(JSON.stringify({ x402Version: 1, error: 'invalid_exact_evm_payload_authorization_valid_before', accepts: [] }), { status: 402 }), 'payment_failed', /expired/],
    ['plain text', new Response('payment rejected by policy', { status: 402 }), 'payment_failed', /refused it \(upstream said: payment rejected by policy\)/],
  ]
  for (const [name, response, type, message] of forms) {
    it(name, async () => {
      const { reasons } = await readRefusal(response)
      const error = paymentFailure({ reasons, wallet: WALLET, network: BASE, amount: 41_000n, balance: 12_000n })
      expect(error.status).toBe(402)
      expect(error.type).toBe(type)
      expect(error.message).toMatch(message)
      expect(error.message).toContain(WALLET)
      expect(error.message).toContain('$0.012')
      expect(error.message).toContain('$0.041')
      expect(error.message).toMatch(FUND)
      expect(error.toJSON()).toEqual({ error: { message: error.message, type, param: null, code: type } })
    })
  }

  it('says "balance unknown" rather than guessing, and flags a testnet', () => {
    const error = paymentFailure({ reasons: ['insufficient_funds'], wallet: WALLET, network: BASE_SEPOLIA, amount: 41_000n })
    expect(error.message).toContain('balance unknown')
    expect(error.message).toMatch(FUND)
    expect(error.message).toContain('test USDC on Base Sepolia')
  })

  it('v2 settlement header with success:false (settlement failed after a 200)', async () => {
    // The payer reads this header from the final response; the error is built from errorReason.
    const error = paymentFailure({ reasons: ['insufficient_funds'], wallet: WALLET, network: BASE, amount: 41_000n, balance: 0n })
    expect(error.type).toBe('insufficient_funds')
    expect(error.message).toContain('balance $0.00 USDC on Base')
    expect(FUND_ADVICE).toBe('Fund your wallet with USDC on Base at blockrun.ai.')
  })
})

describe('an unfunded wallet against the sandbox', () => {
  let stack: Stack | undefined
  const closers: Array<() => Promise<void>> = []
  afterEach(async () => {
    await stack?.close()
    stack = undefined
    await Promise.all(closers.splice(0).map((close) => close()))
  })

  for (const [name, sandbox, network] of [
    ['x402 v2 on Base', { network: BASE }, BASE],
    ['x402 v2 on Base Sepolia', {}, BASE_SEPOLIA],
    ['x402 v1 on Base Sepolia', { version: 1 as const }, BASE_SEPOLIA],
    ['a 202 job model', { network: BASE, forms: 'job' as const }, BASE],
  ] as const) {
    it(`${name}: insufficient_funds with address, balance and how to fund; nothing settled`, async () => {
      const rpc = await startRpc(12_000n)
      closers.push(() => rpc.close())
      stack = await startStack({ fund: '0', sandbox, settings: { rpcUrl: rpc.url, sepoliaRpcUrl: rpc.url } })
      const { status, body } = await stack.post('/v1/images/generations', { model: 'grok-imagine', prompt: `unfunded ${name}` })
      expect(status, JSON.stringify(body)).toBe(402)
      expect(body.error.type).toBe('insufficient_funds')
      expect(body.error.message).toContain(stack.wallet.address)
      expect(body.error.message).toContain(`balance $0.012 USDC on ${network.label}`)
      expect(body.error.message).toContain('$0.022') // grok-imagine: $0.02 × 1.05 + $0.001
      expect(body.error.message).toMatch(FUND)
      expect(rpc.calls).toBeGreaterThan(0)
      expect(stack.sandbox.usdc.transfers).toHaveLength(0)
      const records = await readLedger(stack.home)
      expect(records.map((r) => r.status)).toEqual(['refused'])
      expect(records[0]!.reason).toMatch(/insufficient_funds/)
    })
  }

  it('the balance read is bounded: a hung RPC delays the error by at most ~1.5 s, and it says so', async () => {
    const rpc = await startRpc(0n, { hang: true })
    closers.push(() => rpc.close())
    stack = await startStack({ fund: '0', settings: { rpcUrl: rpc.url, sepoliaRpcUrl: rpc.url } })
    const started = Date.now()
    const { status, body } = await stack.post('/v1/images/generations', { model: 'grok-imagine', prompt: 'hung rpc' })
    const elapsed = Date.now() - started
    expect(status).toBe(402)
    expect(body.error.type).toBe('insufficient_funds')
    expect(body.error.message).toContain('balance unknown')
    expect(body.error.message).toContain(stack.wallet.address)
    expect(elapsed).toBeLessThan(3000)
  })

  it('the happy path never reads the balance', async () => {
    const rpc = await startRpc(10_000_000n)
    closers.push(() => rpc.close())
    stack = await startStack({ settings: { rpcUrl: rpc.url, sepoliaRpcUrl: rpc.url } })
    for (let i = 0; i < 3; i++) expect((await stack.post('/v1/images/generations', { model: 'grok-imagine', prompt: `happy ${i}` })).status).toBe(200)
    expect(rpc.calls).toBe(0)
  })

  it('a 402 in answer to the paid request is payment_failed, said once and plainly', async () => {
    stack = await startStack({ settings: { rpcUrl: 'http://127.0.0.1:9', sepoliaRpcUrl: 'http://127.0.0.1:9' } })
    const { status, body } = await stack.post('/v1/images/generations', { model: 'grok-imagine', prompt: 'x [fault:payment-required-again]' })
    expect(status).toBe(402)
    expect(body.error.type).toBe('payment_failed')
    expect(body.error.message).toContain('it asked for payment again instead of accepting this authorization (upstream said: Payment required).')
    expect(body.error.message).toContain('No payment settled for this attempt')
    expect(stack.sandbox.usdc.transfers).toHaveLength(0)
  })

  it('a settlement header saying failure after a 200 is payment_failed, recorded as refused', async () => {
    stack = await startStack({ settings: { rpcUrl: 'http://127.0.0.1:9', sepoliaRpcUrl: 'http://127.0.0.1:9' } })
    const { status, body } = await stack.post('/v1/images/generations', { model: 'grok-imagine', prompt: 'x [fault:settlement-failed-header]' })
    expect(status).toBe(402)
    expect(body.error.type).toBe('payment_failed')
    expect(body.error.message).toMatch(/could not settle the payment \(upstream said: unexpected_settle_error\)/)
    expect(body.error.message).toMatch(FUND)
    expect((await readLedger(stack.home)).map((r) => r.status)).toEqual(['refused'])
  })
})

type Exact = { x402Version: number; accepted: { extra: { name: string; version: string }; asset: string; network: string }; payload: { signature: string; authorization: Record<string, string> } }
const decode = (header: string) => JSON.parse(Buffer.from(header, 'base64').toString('utf8')) as Exact
const encode = (payload: Exact) => Buffer.from(JSON.stringify(payload)).toString('base64')

describe('authorizations the sandbox must refuse, turned into clear errors', () => {
  const cleanups: Array<() => Promise<void>> = []
  afterEach(async () => {
    await Promise.all(cleanups.splice(0).map((close) => close()))
  })

  /** Proxy → relay(rewrite) → sandbox, with a funded wallet. */
  async function throughRelay(rewrite: (header: string, wallet: Wallet) => Promise<string>) {
    const relayed = await stackThroughRelay((stack) => ({ payment: (header) => rewrite(header, stack.wallet) }))
    cleanups.push(() => relayed.close())
    return { stack: relayed.stack, generate: (prompt: string) => relayed.generate({ model: 'flux', prompt }) }
  }

  it('a tampered signature: refused by the verifier, payment_failed saying the signature did not verify', async () => {
    const { stack, generate } = await throughRelay(async (header) => {
      const payment = decode(header)
      const s = payment.payload.signature
      // Flip one nibble inside r: still well-formed, no longer this wallet's signature.
      payment.payload.signature = `${s.slice(0, 10)}${s[10] === '0' ? '1' : '0'}${s.slice(11)}`
      return encode(payment)
    })
    const { status, body } = await generate('tampered')
    expect(status).toBe(402)
    expect(body.error.type).toBe('payment_failed')
    expect(body.error.message).toMatch(/signature did not verify/)
    expect(body.error.message).toContain('invalid_exact_evm_payload_signature')
    expect(body.error.message).toContain(stack.wallet.address)
    expect(body.error.message).toMatch(FUND)
    expect(stack.sandbox.facilitator.stats.rejected).toBeGreaterThan(0)
    expect(stack.sandbox.usdc.transfers).toHaveLength(0)
    expect((await readLedger(stack.home)).map((r) => r.status)).toEqual(['refused'])
  })

  it('a signature over the wrong EIP-712 domain name ("USD Coin" on Base Sepolia): refused, payment_failed', async () => {
    const { stack, generate } = await throughRelay(async (header, wallet) => {
      const payment = decode(header)
      const a = payment.payload.authorization
      expect(payment.accepted.extra.name).toBe('USDC') // what the sandbox asked, correctly
      payment.payload.signature = await (await wallet.account()).signTypedData({
        domain: { name: 'USD Coin', version: '2', chainId: BASE_SEPOLIA.chainId, verifyingContract: BASE_SEPOLIA.usdc },
        types: TRANSFER_WITH_AUTHORIZATION,
        primaryType: 'TransferWithAuthorization',
        message: { from: a.from as `0x${string}`, to: a.to as `0x${string}`, value: BigInt(a.value!), validAfter: BigInt(a.validAfter!), validBefore: BigInt(a.validBefore!), nonce: a.nonce as `0x${string}` },
      })
      return encode(payment)
    })
    const { status, body } = await generate('wrong domain')
    expect(status).toBe(402)
    expect(body.error.type).toBe('payment_failed')
    expect(body.error.message).toMatch(/signature did not verify/)
    expect(stack.sandbox.usdc.transfers).toHaveLength(0)
  })

  it('a replayed authorization: the first settles, the replay is refused as already used', async () => {
    let first: string | undefined
    const { stack, generate } = await throughRelay(async (header) => {
      first ??= header
      return first
    })
    const original = await generate('original')
    expect(original.status, JSON.stringify(original.body)).toBe(200)
    const { status, body } = await generate('replayed')
    expect(status).toBe(402)
    expect(body.error.type).toBe('payment_failed')
    expect(body.error.message).toMatch(/already used \(its nonce was spent\)/)
    expect(body.error.message).toContain('nonce_used')
    // One settlement only; every later authorization of ours was refused, none settled.
    expect(stack.sandbox.usdc.transfers).toHaveLength(1)
    const records = await readLedger(stack.home)
    expect(records[0]!.status).toBe('settled')
    expect(records.slice(1).every((r) => r.status === 'refused')).toBe(true)
  })
})

describe('settlement failing after verification (funds gone in between)', () => {
  /**
   * A gateway assembled from the sandbox's own parts (official resource server + facilitator over
   * the in-memory USDC): it verifies the payment, then the wallet is emptied, then it settles.
   */
  async function drainingGateway(wallet: Wallet, version: 1 | 2, drain: 'funds' | 'nonce') {
    const usdc = new SandboxUsdc()
    usdc.fund(wallet.address, 1_000_000n)
    const paywall = new Paywall({ facilitator: new SandboxFacilitator(usdc), network: BASE_SEPOLIA, payTo: '0x000000000000000000000000000000000000b10c', version })
    const app = new Hono()
    app.post('/v1/images/generations', async (c) => {
      const outcome = await paywall.check(c.req.raw.headers, { amount: 41_000n, resource: c.req.url, description: 'one image' })
      if (outcome.kind === 'respond') return c.json(outcome.body as object, 402, outcome.headers)
      const header = c.req.header('payment-signature') ?? c.req.header('x-payment')!
      const nonce = (JSON.parse(Buffer.from(header, 'base64').toString('utf8')) as Exact).payload.authorization.nonce!
      // Between verify and settle: the funds move elsewhere, or the nonce gets used.
      if (drain === 'funds') usdc.transfer(wallet.address, '0x00000000000000000000000000000000000000ee', usdc.balanceOf(wallet.address), `0x${'ab'.repeat(32)}`, BASE_SEPOLIA.caip2)
      else usdc.transfer(wallet.address, '0x00000000000000000000000000000000000000ee', 1n, nonce, BASE_SEPOLIA.caip2)
      const settlement = await outcome.settle()
      if (!settlement.ok) return c.json(settlement.body as object, 402, settlement.headers)
      return c.json({ created: 1, data: [{ b64_json: 'iVBORw0KGgo=' }] }, 200, settlement.headers)
    })
    const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
      const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s))
    })
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, usdc, close: () => new Promise<void>((resolve) => server.close(() => resolve())) }
  }

  for (const [version, drain, type, message] of [
    [2, 'funds', 'insufficient_funds', /does not hold enough USDC/],
    [1, 'funds', 'insufficient_funds', /does not hold enough USDC/],
    [2, 'nonce', 'payment_failed', /already used/],
  ] as const) {
    it(`x402 v${version}, ${drain} gone: ${type}`, async () => {
      const home = await tempHome()
      const wallet = await loadWallet({ home })
      const gateway = await drainingGateway(wallet, version, drain)
      const rpc = await startRpc(0n)
      const proxy = await startProxy(resolveSettings({ home, port: 0, upstream: gateway.url, rpcUrl: rpc.url, sepoliaRpcUrl: rpc.url }))
      try {
        const response = await fetch(`${proxy.url}/v1/images/generations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'grok-imagine', prompt: 'drained' }) })
        const body = await response.json()
        expect(response.status).toBe(402)
        expect(body.error.type).toBe(type)
        expect(body.error.message).toMatch(message)
        expect(body.error.message).toContain(wallet.address)
        expect(body.error.message).toContain('balance $0.00 USDC on Base Sepolia')
        expect(body.error.message).toMatch(FUND)
        // Only the drain moved money; our authorization never settled.
        expect(gateway.usdc.transfers.filter((t) => t.to.endsWith('b10c'))).toHaveLength(0)
        expect((await readLedger(home)).map((r) => r.status)).toEqual(['refused'])
      } finally {
        await proxy.close()
        await rpc.close()
        await gateway.close()
      }
    })
  }
})
