/**
 * The sandbox facilitator remembers signature checks between verify and settle. Remembering must
 * change no outcome: a payload verified once and then altered in any signed field, settled under
 * another EIP-712 domain or chain, or carrying another signature, is still refused at settle, and
 * a settled authorization cannot settle again.
 */
import { describe, expect, it } from 'vitest'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import type { PaymentPayload, PaymentRequirements } from '@x402/core/types'
import { BASE, BASE_SEPOLIA } from '../server/payment/networks.js'
import { SandboxFacilitator, TRANSFER_WITH_AUTHORIZATION } from '../server/sandbox/facilitator.js'
import { SandboxUsdc } from '../server/sandbox/usdc.js'

const PAY_TO = '0x209693Bc6afc0C5328bA36FaF03C514EF312287C'
const OTHER = '0x1111111111111111111111111111111111111111'
const PRICE = 50_000n

const requirements = {
  scheme: 'exact',
  network: BASE_SEPOLIA.caip2,
  amount: PRICE.toString(),
  asset: BASE_SEPOLIA.usdc,
  payTo: PAY_TO,
  maxTimeoutSeconds: 300,
  extra: { ...BASE_SEPOLIA.usdcDomain },
} as unknown as PaymentRequirements

async function signedPayload(key: `0x${string}`, nonceByte: string) {
  const account = privateKeyToAccount(key)
  const authorization = {
    from: account.address,
    to: PAY_TO,
    value: PRICE.toString(),
    validAfter: '0',
    validBefore: String(Math.floor(Date.now() / 1000) + 600),
    nonce: `0x${nonceByte.repeat(32)}`,
  }
  const signature = await account.signTypedData({
    domain: { ...BASE_SEPOLIA.usdcDomain, chainId: BASE_SEPOLIA.chainId, verifyingContract: BASE_SEPOLIA.usdc as `0x${string}` },
    types: TRANSFER_WITH_AUTHORIZATION,
    primaryType: 'TransferWithAuthorization',
    message: { ...authorization, to: PAY_TO, value: PRICE, validAfter: 0n, validBefore: BigInt(authorization.validBefore), nonce: authorization.nonce as `0x${string}` },
  })
  return { authorization, signature, address: account.address }
}

function payload(authorization: object, signature: string): PaymentPayload {
  return { x402Version: 2, accepted: { scheme: 'exact', network: BASE_SEPOLIA.caip2 }, payload: { authorization, signature } } as unknown as PaymentPayload
}

function setup(address: string) {
  const usdc = new SandboxUsdc()
  usdc.fund(address, 10n * PRICE)
  return { usdc, facilitator: new SandboxFacilitator(usdc) }
}

describe('the sandbox facilitator, remembering signature checks', () => {
  it('verifies and settles a good payment once; the same authorization cannot settle twice', async () => {
    const { authorization, signature, address } = await signedPayload(generatePrivateKey(), 'ab')
    const { usdc, facilitator } = setup(address)
    expect((await facilitator.verify(payload(authorization, signature), requirements)).isValid).toBe(true)
    expect((await facilitator.settle(payload(authorization, signature), requirements)).success).toBe(true)
    const again = await facilitator.settle(payload(authorization, signature), requirements)
    expect(again.success).toBe(false)
    expect(usdc.transfers).toHaveLength(1)
  })

  // `to` and `value` are left out: each has its own check (the payee, the price) that refuses a change whatever the signature says.
  it.each([
    ['nonce', { nonce: `0x${'cd'.repeat(32)}` }],
    ['validAfter', { validAfter: '1' }],
    ['validBefore', { validBefore: String(Math.floor(Date.now() / 1000) + 900) }],
  ])('refuses at settle a verified payload whose %s was changed afterwards', async (_field, change) => {
    const { authorization, signature, address } = await signedPayload(generatePrivateKey(), 'ef')
    const { usdc, facilitator } = setup(address)
    expect((await facilitator.verify(payload(authorization, signature), requirements)).isValid).toBe(true)
    const settlement = await facilitator.settle(payload({ ...authorization, ...change }, signature), requirements)
    expect(settlement.errorReason).toBe('invalid_exact_evm_payload_signature')
    expect(usdc.transfers).toHaveLength(0)
  })

  it("refuses at settle a verified payload pointed at another funded wallet's money", async () => {
    const { authorization, signature, address } = await signedPayload(generatePrivateKey(), '34')
    const victim = privateKeyToAccount(generatePrivateKey()).address
    const { usdc, facilitator } = setup(address)
    usdc.fund(victim, 10n * PRICE)
    expect((await facilitator.verify(payload(authorization, signature), requirements)).isValid).toBe(true)
    const settlement = await facilitator.settle(payload({ ...authorization, from: victim }, signature), requirements)
    expect(settlement.errorReason).toBe('invalid_exact_evm_payload_signature')
    expect(usdc.transfers).toHaveLength(0)
  })

  it.each([
    ['token name', { extra: { ...BASE_SEPOLIA.usdcDomain, name: 'Not USDC' } }],
    ['token version', { extra: { ...BASE_SEPOLIA.usdcDomain, version: '1' } }],
    ['token contract', { asset: OTHER }],
  ])('refuses at settle a signature verified for one EIP-712 domain when the %s differs', async (_what, change) => {
    const { authorization, signature, address } = await signedPayload(generatePrivateKey(), '56')
    const { usdc, facilitator } = setup(address)
    expect((await facilitator.verify(payload(authorization, signature), requirements)).isValid).toBe(true)
    const settlement = await facilitator.settle(payload(authorization, signature), { ...requirements, ...change } as PaymentRequirements)
    expect(settlement.errorReason).toBe('invalid_exact_evm_payload_signature')
    expect(usdc.transfers).toHaveLength(0)
  })

  it('refuses at settle a signature verified on one chain when settled on another', async () => {
    const { authorization, signature, address } = await signedPayload(generatePrivateKey(), '78')
    const { usdc, facilitator } = setup(address)
    expect((await facilitator.verify(payload(authorization, signature), requirements)).isValid).toBe(true)
    // Same token name, version and contract address, another chain id: only the domain's chainId differs.
    const mainnet = { ...requirements, network: BASE.caip2, extra: { ...BASE_SEPOLIA.usdcDomain } } as PaymentRequirements
    const onMainnet = { ...payload(authorization, signature), accepted: { scheme: 'exact', network: BASE.caip2 } } as PaymentPayload
    const settlement = await facilitator.settle(onMainnet, mainnet)
    expect(settlement.errorReason).toBe('invalid_exact_evm_payload_signature')
    expect(usdc.transfers).toHaveLength(0)
  })

  it("refuses another wallet's signature over the same terms, before and after the good one was checked", async () => {
    const mine = await signedPayload(generatePrivateKey(), '12')
    const theirs = await signedPayload(generatePrivateKey(), '12')
    const { usdc, facilitator } = setup(mine.address)
    const forged = payload(mine.authorization, theirs.signature)
    expect((await facilitator.verify(forged, requirements)).invalidReason).toBe('invalid_exact_evm_payload_signature')
    expect((await facilitator.verify(payload(mine.authorization, mine.signature), requirements)).isValid).toBe(true)
    expect((await facilitator.settle(forged, requirements)).errorReason).toBe('invalid_exact_evm_payload_signature')
    expect(usdc.transfers).toHaveLength(0)
  })
})
