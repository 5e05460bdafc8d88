/**
 * Paying on Solana against the sandbox (issue #17): generations, edits and 202 jobs paid with the
 * official @x402/svm exact scheme from a ClawRouter-style wallet (a mnemonic), the sandbox
 * verifying each signed transfer offline and settling it in its own ledger; refusals; one budget
 * across Base and Solana; the sandbox's checks; and the chain's word on expired transfers.
 */
import { randomBytes } from 'node:crypto'
import { rm } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { resolveSettings } from '../server/config.js'
import { startProxy } from '../server/http/server.js'
import { authorizationStateReader, reclaimExpired } from '../server/payment/chain-state.js'
import { Ledger, readLedger } from '../server/payment/ledger.js'
import { SOLANA, SOLANA_DEVNET } from '../server/payment/networks.js'
import { SolanaRpc } from '../server/payment/solana-rpc.js'
import { createSolanaX402Signer } from '../server/payment/svm-signer.js'
import { readPaymentRequired } from '../server/payment/x402.js'
import { SANDBOX_SOLANA_PAY_TO } from '../server/sandbox/app.js'
import { startSandbox } from '../server/sandbox/server.js'
import { base58Encode } from '../server/wallet/base58.js'
import { loadWallet } from '../server/wallet/key.js'
import { EDIT_PRICE } from './helpers/edits.js'
import { makeImage } from './helpers/images.js'
import { readJsonResponse, startStack, tempHome, writeMnemonic, type Stack } from './helpers/stack.js'

/** nano-banana: $0.05 × 1.05 (the gateway's margin) + the $0.001 fee, base units. */
const BANANA = 53_500n
/** gpt-image-2, always a 202 job: $0.06 × 1.05 + $0.001. */
const JOB_PRICE = 64_000n
const generate = (stack: Stack, prompt = 'a lighthouse at dusk', model = 'google/nano-banana') => stack.post('/v1/images/generations', { model, prompt, size: '1024x1024' })

describe('a Solana wallet pays for generations, edits and jobs', () => {
  let stack: Stack
  let payer: string
  beforeAll(async () => {
    stack = await startStack({ chain: 'solana' })
    payer = stack.wallet.solana!.address
  })
  afterAll(async () => stack?.close())

  it('a generation: one signed transfer from the Solana address, verified and settled by the sandbox, recorded in the ledger', async () => {
    const response = await generate(stack)
    expect(response.status, JSON.stringify(response.body)).toBe(200)
    const [transfer] = stack.sandbox.solana.transfers
    expect(stack.sandbox.solana.transfers).toHaveLength(1)
    expect(transfer).toMatchObject({ from: payer, to: SANDBOX_SOLANA_PAY_TO, amount: BANANA, network: SOLANA_DEVNET.caip2 })
    expect(response.body.cost).toMatchObject({ network: SOLANA_DEVNET.caip2, asset: SOLANA_DEVNET.usdc, pay_to: SANDBOX_SOLANA_PAY_TO, payer, transaction: transfer!.transaction, amount: String(BANANA) })
    expect(stack.sandbox.solana.balanceOf(payer)).toBe(10_000_000n - BANANA)
    // Nothing moved on the EVM side.
    expect(stack.sandbox.usdc.transfers).toHaveLength(0)
    const [record] = await readLedger(stack.home)
    // The ledger names the transfer by the payer's own signature, with the blockhash that bounds its life.
    expect(record).toMatchObject({ status: 'settled', network: SOLANA_DEVNET.caip2, payer, nonce: transfer!.payerSignature, transaction: transfer!.transaction, amount: BANANA })
    expect(record!.blockhash).toMatch(/^[1-9A-HJ-NP-Za-km-z]{32,44}$/)
  })

  it('reads the mint once per process and reuses a blockhash for seconds; every transfer stays distinct', async () => {
    const before = stack.sandbox.solana.transfers.length
    for (const prompt of ['one', 'two', 'three']) expect((await generate(stack, prompt)).status).toBe(200)
    const transfers = stack.sandbox.solana.transfers.slice(before)
    expect(transfers).toHaveLength(3)
    expect(new Set(stack.sandbox.solana.transfers.map((t) => t.payerSignature)).size).toBe(stack.sandbox.solana.transfers.length)
    expect(stack.sandbox.counters.solanaRpc.getAccountInfo).toBe(1)
    expect(stack.sandbox.counters.solanaRpc.getLatestBlockhash).toBeLessThanOrEqual(2)
  })

  it('an edit, paid on Solana at the edit price', async () => {
    const before = stack.sandbox.solana.transfers.length
    const image = `data:image/png;base64,${(await makeImage(64, 64)).toString('base64')}`
    const response = await stack.post('/v1/images/image2image', { model: 'openai/gpt-image-1', prompt: 'make it blue', image })
    expect(response.status, JSON.stringify(response.body)).toBe(200)
    expect(stack.sandbox.solana.transfers.slice(before)).toEqual([expect.objectContaining({ from: payer, amount: EDIT_PRICE })])
  })

  it('a 202 job (gpt-image-2): every poll carries the Solana payment, settled once when collected', async () => {
    const before = stack.sandbox.solana.transfers.length
    const polls = stack.sandbox.polls.length
    const response = await generate(stack, 'a slow one', 'openai/gpt-image-2')
    expect(response.status, JSON.stringify(response.body)).toBe(200)
    expect(stack.sandbox.polls.length).toBeGreaterThan(polls)
    expect(stack.sandbox.polls.slice(polls).every((p) => p.paid)).toBe(true)
    expect(stack.sandbox.solana.transfers.slice(before)).toEqual([expect.objectContaining({ from: payer, amount: JOB_PRICE })])
    expect(response.body.cost.transaction).toBe(stack.sandbox.solana.transfers.at(-1)!.transaction)
  })

  it('/v1/usage reports spend per network', async () => {
    const usage = (await readJsonResponse(await stack.get('/v1/usage?days=1'))).body
    expect(usage.byNetwork).toEqual([expect.objectContaining({ network: SOLANA_DEVNET.caip2, payments: 6 })])
  })
})

describe('refusals on Solana', () => {
  it('an unfunded Solana wallet: a 402 naming Solana, the address to fund and how to switch to Base; nothing settled', async () => {
    const stack = await startStack({ chain: 'solana', fund: '0' })
    try {
      const payer = stack.wallet.solana!.address
      const response = await generate(stack)
      expect(response.status).toBe(402)
      expect(response.body.error.type).toBe('insufficient_funds')
      expect(response.body.error.message).toContain(payer)
      expect(response.body.error.message).toMatch(/on Solana devnet/)
      expect(response.body.error.message).toMatch(/Fund your Solana address with USDC on Solana.*BLOCKRUN_PAYMENT_CHAIN=base/)
      expect(stack.sandbox.solana.transfers).toHaveLength(0)
      expect((await readLedger(stack.home)).map((r) => r.status)).toEqual(['refused'])
    } finally {
      await stack.close()
    }
  })

  it('a payee not on the allowed list is refused before anything is signed', async () => {
    const other = base58Encode(randomBytes(32))
    const stack = await startStack({ chain: 'solana', settings: { payees: other } })
    try {
      const response = await generate(stack)
      expect(response.status).toBe(402)
      expect(response.body.error).toMatchObject({ type: 'payment_not_allowed', code: 'payee_not_allowed' })
      expect(response.body.error.message).toContain(SANDBOX_SOLANA_PAY_TO)
      expect(stack.sandbox.counters.authorizations).toBe(0)
      expect(await readLedger(stack.home)).toEqual([])
    } finally {
      await stack.close()
    }
  })
})

describe('a job that outlives its blockhash', () => {
  it('the poll is refused (stale blockhash) and the job re-signed on a fresh blockhash by the same wallet; one transfer settles', async () => {
    // 150 blocks of 3 ms: each transaction lands for 450 ms, and the job takes 650 ms.
    const stack = await startStack({ chain: 'solana', sandbox: { solanaBlockMs: 3, jobMs: 650 } })
    try {
      const response = await generate(stack, 'slow', 'openai/gpt-image-2')
      expect(response.status, JSON.stringify(response.body)).toBe(200)
      const records = await readLedger(stack.home)
      expect(records.length).toBeGreaterThanOrEqual(2)
      expect(records[0]).toMatchObject({ status: 'refused', reason: expect.stringMatching(/blockhash/) })
      expect(records.at(-1)).toMatchObject({ status: 'settled', replaces: records.at(-2)!.id })
      expect(new Set(records.map((r) => r.blockhash)).size).toBe(records.length)
      expect(stack.sandbox.solana.transfers).toHaveLength(1)
      expect(stack.sandbox.solana.transfers[0]!.payerSignature).toBe(records.at(-1)!.nonce)
    } finally {
      await stack.close()
    }
  })
})

describe('a paid request whose blockhash went stale before the gateway verified it', () => {
  it('is refused in verification (nothing settles) and signed once more on a fresh blockhash, as BlockRun\'s SDK does', async () => {
    // 150 blocks of 1 ms: a blockhash lands transactions for 150 ms, while the proxy reuses one for up to 10 s.
    const stack = await startStack({ chain: 'solana', sandbox: { solanaBlockMs: 1 } })
    try {
      expect((await generate(stack)).status).toBe(200)
      await new Promise((resolve) => setTimeout(resolve, 300))
      // Another model: no cached requirements, so an ordinary 402 round signs on the cached, now stale, blockhash.
      const response = await generate(stack, 'later', 'openai/gpt-image-1')
      expect(response.status, JSON.stringify(response.body)).toBe(200)
      expect((await readLedger(stack.home)).map((r) => r.status)).toEqual(['settled', 'refused', 'settled'])
      expect(stack.sandbox.counters.solanaRpc.getLatestBlockhash).toBe(2)
      expect(stack.sandbox.solana.transfers).toHaveLength(2)
    } finally {
      await stack.close()
    }
  })
})

describe('one budget across Base and Solana', () => {
  it('payments on both chains from one home count against the same 24-hour budget; /v1/usage splits them per network', async () => {
    const home = await tempHome()
    await writeMnemonic(home)
    const wallet = await loadWallet({ home })
    const baseSandbox = await startSandbox({ fund: { [wallet.address]: 10_000_000n } })
    const solanaSandbox = await startSandbox({ network: SOLANA_DEVNET, fund: { [wallet.solana!.address]: 10_000_000n } })
    const common = { home, port: 0, dailyBudget: '0.12', rpcUrl: 'http://127.0.0.1:9', sepoliaRpcUrl: 'http://127.0.0.1:9' }
    const base = await startProxy(resolveSettings({ ...common, upstream: baseSandbox.url }))
    const solana = await startProxy(resolveSettings({ ...common, upstream: solanaSandbox.url, paymentChain: 'solana', solanaDevnetRpcUrl: solanaSandbox.rpcUrl }))
    const post = async (url: string, prompt: string) =>
      readJsonResponse(await fetch(`${url}/v1/images/generations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'google/nano-banana', prompt }) }))
    try {
      expect((await post(base.url, 'on base')).status).toBe(200)
      expect((await post(solana.url, 'on solana')).status).toBe(200)
      const third = await post(solana.url, 'over budget')
      expect(third.status).toBe(402)
      expect(third.body.error.code).toBe('daily_budget')
      expect(third.body.error.message).toMatch(/\$0\.107 spent or pending/)
      expect(solanaSandbox.counters.authorizations).toBe(1)
      const usage = (await readJsonResponse(await fetch(`${base.url}/v1/usage?days=1`))).body
      expect(usage.byNetwork).toEqual([
        expect.objectContaining({ network: 'eip155:84532', amount: String(BANANA), payments: 1 }),
        expect.objectContaining({ network: SOLANA_DEVNET.caip2, amount: String(BANANA), payments: 1 }),
      ])
      expect(usage.budget.usedLast24h).toBe(String(2n * BANANA))
    } finally {
      await base.close()
      await solana.close()
      await baseSandbox.close()
      await solanaSandbox.close()
      await rm(home, { recursive: true, force: true })
    }
  })
})

describe('the sandbox checks a Solana payment offline', () => {
  it('right mint, amount, payee and the payer\'s signature; a replay and an unfunded payer are refused', async () => {
    const home = await tempHome()
    await writeMnemonic(home)
    const wallet = await loadWallet({ home })
    const payer = wallet.solana!.address
    const sandbox = await startSandbox({ network: SOLANA_DEVNET, fund: { [payer]: 1_000_000n } })
    try {
      const unpaid = await fetch(`${sandbox.url}/v1/images/generations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'google/nano-banana', prompt: 'x' }) })
      const required = await readPaymentRequired((name) => unpaid.headers.get(name), undefined)
      const requirement = required.accepts[0]!
      expect(requirement).toMatchObject({ network: SOLANA_DEVNET.caip2, asset: SOLANA_DEVNET.usdc, payTo: SANDBOX_SOLANA_PAY_TO, extra: { feePayer: sandbox.solana.feePayer } })
      const signer = await createSolanaX402Signer(wallet.solana!, new SolanaRpc(() => sandbox.rpcUrl), 500_000n)
      const recorded: string[] = []
      const payload = await signer.sign({ ...required, accepts: [requirement] }, async (terms) => void recorded.push(terms.nonce))
      // The payment echoes the requirement exactly as the sandbox sent it (v2 servers match it by deep equality).
      expect(payload.accepted).toEqual(requirement)
      const transaction = (payload.payload as { transaction: string }).transaction
      const terms = { asset: requirement.asset, payTo: requirement.payTo, amount: requirement.amount }
      const checked = await sandbox.solana.check(transaction, terms)
      expect(checked).toMatchObject({ ok: true, payer })
      expect(recorded).toEqual([(checked as { transfer: { payerSignature: string } }).transfer.payerSignature])

      const reason = async (tx: string, change: Partial<typeof terms>) => ((await sandbox.solana.check(tx, { ...terms, ...change })) as { reason?: string }).reason
      expect(await reason(transaction, { amount: String(BigInt(terms.amount) + 1n) })).toBe('invalid_exact_svm_payload_amount_mismatch')
      expect(await reason(transaction, { payTo: base58Encode(randomBytes(32)) })).toBe('invalid_exact_svm_payload_recipient_mismatch')
      expect(await reason(transaction, { asset: SOLANA.usdc })).toBe('invalid_exact_svm_payload_mint_mismatch')
      // One bit of the payer's signature flipped (the signatures follow the one-byte count).
      const bytes = Buffer.from(transaction, 'base64')
      const tampered = Buffer.from(bytes)
      tampered[1 + 64 + 5]! ^= 1
      expect(await reason(tampered.toString('base64'), {})).toBe('invalid_exact_svm_payload_signature_invalid')

      // Through the paywall: settled once, then the same transfer again is a replay.
      const headers = signer.headers(payload)
      const paid = await fetch(`${sandbox.url}/v1/images/generations`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ model: 'google/nano-banana', prompt: 'x' }) })
      expect(paid.status).toBe(200)
      expect(paid.headers.get('x-payment-receipt')).toBe(sandbox.solana.transfers[0]!.transaction)
      expect(await reason(transaction, {})).toBe('duplicate_settlement')
      const again = await fetch(`${sandbox.url}/v1/images/generations`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ model: 'google/nano-banana', prompt: 'x' }) })
      expect(again.status).toBe(402)
      expect(sandbox.solana.transfers).toHaveLength(1)

      // A payer without the funds.
      const poorHome = await tempHome()
      await writeMnemonic(poorHome)
      const poor = await loadWallet({ home: poorHome })
      const poorSigner = await createSolanaX402Signer(poor.solana!, new SolanaRpc(() => sandbox.rpcUrl), 500_000n)
      const poorPayload = await poorSigner.sign({ ...required, accepts: [requirement] }, async () => {})
      expect(await reason((poorPayload.payload as { transaction: string }).transaction, {})).toBe('insufficient_funds')
      await rm(poorHome, { recursive: true, force: true })
    } finally {
      await sandbox.close()
      await rm(home, { recursive: true, force: true })
    }
  })
})

describe('the chain says whether an expired, unsettled Solana transfer landed', () => {
  it('an expired blockhash with no landed transaction frees the budget; one that landed counts as spent; an unexpired one is not judged', async () => {
    const stack = await startStack({ chain: 'solana' })
    const ledger = new Ledger(await tempHome())
    try {
      expect((await generate(stack)).status).toBe(200)
      const landed = stack.sandbox.solana.transfers[0]!
      const payer = stack.wallet.solana!.address
      const past = String(Math.floor(Date.now() / 1000) - 30)
      const entry = (id: string) => ({ id, requestId: id, endpoint: '/v1/images/generations', model: 'google/nano-banana', size: '1024x1024', n: 1, amount: BANANA, network: SOLANA_DEVNET.caip2, asset: SOLANA_DEVNET.usdc, payTo: SANDBOX_SOLANA_PAY_TO })
      const record = async (id: string, nonce: string, blockhash: string) => {
        await ledger.reserve(entry(id), 10_000_000n)
        await ledger.signed(id, { nonce, validBefore: past, x402Version: 2, payer, blockhash })
        await ledger.closed(id, 'refused', 'the upstream said no')
      }
      const neverIssued = base58Encode(randomBytes(32))
      await record('never-landed', base58Encode(randomBytes(64)), neverIssued)
      await record('landed', landed.payerSignature, neverIssued)
      await record('still-valid', base58Encode(randomBytes(64)), stack.sandbox.solana.latestBlockhash().blockhash)
      const read = authorizationStateReader(() => 'http://127.0.0.1:9', 1000, new SolanaRpc(() => stack.sandbox.rpcUrl))
      expect(await reclaimExpired({ ledger, read })).toBe(BANANA)
      const byId = Object.fromEntries((await ledger.payments()).map((p) => [p.id, p]))
      expect(byId['never-landed']).toMatchObject({ chain: 'unused', status: 'refused' })
      expect(byId.landed).toMatchObject({ chain: 'used', status: 'settled' })
      expect(byId['still-valid']!.chain).toBeUndefined()
      expect(await ledger.spentLastDay()).toBe(2n * BANANA)
    } finally {
      await ledger.close()
      await stack.close()
    }
  })
})
