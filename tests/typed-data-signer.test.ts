/**
 * The signer that remembers domain separators gives exactly the signature viem's own
 * `signTypedData` gives (ECDSA here is deterministic, RFC 6979), for USDC's EIP-3009 message on
 * several domains, repeated and interleaved, and it still refuses what viem refuses.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { signTypedDataCachingDomain, type TypedDataInput } from '../server/payment/typed-data-signer.js'
import { BASE, BASE_SEPOLIA } from '../server/payment/networks.js'
import { TRANSFER_WITH_AUTHORIZATION } from '../server/sandbox/facilitator.js'

const TYPES = TRANSFER_WITH_AUTHORIZATION as unknown as Record<string, unknown>

const account = privateKeyToAccount(generatePrivateKey())
const domains = [BASE, BASE_SEPOLIA].map((network) => ({ ...network.usdcDomain, chainId: network.chainId, verifyingContract: network.usdc as `0x${string}` }))

describe('signing with remembered domain separators', () => {
  it('equals viem signTypedData for random EIP-3009 authorizations over two domains', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: 1 }), fc.bigInt({ min: 0n, max: 2n ** 64n }), fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ minLength: 20, maxLength: 20 }), async (which, value, nonce, to) => {
        const typed: TypedDataInput = {
          domain: domains[which]!,
          types: TYPES,
          primaryType: 'TransferWithAuthorization',
          message: { from: account.address, to: `0x${Buffer.from(to).toString('hex')}`, value, validAfter: 0n, validBefore: 1_900_000_000n, nonce: `0x${Buffer.from(nonce).toString('hex')}` },
        }
        expect(await signTypedDataCachingDomain(account, typed)).toBe(await account.signTypedData(typed as never))
      }),
      { numRuns: 60 },
    )
  })

  it('still validates the message: a bad address is refused, not signed', async () => {
    const typed: TypedDataInput = {
      domain: domains[0]!,
      types: TYPES,
      primaryType: 'TransferWithAuthorization',
      message: { from: account.address, to: '0x1234', value: 1n, validAfter: 0n, validBefore: 1n, nonce: `0x${'00'.repeat(32)}` },
    }
    await expect(signTypedDataCachingDomain(account, typed)).rejects.toThrow(/address/i)
  })
})
