/**
 * A private key's Ethereum address, from Node's native secp256k1 (the ECDH public key) and
 * @noble/hashes' keccak-256 (the hash viem itself uses), with the EIP-55 checksum. `imagegen
 * serve` answers /health with the address, and deriving it this way spares loading viem's
 * accounts module at start (about 100 ms on this machine); viem is loaded at the first payment.
 * tests/wallet.test.ts checks it against viem's `privateKeyToAccount` for random keys.
 *
 * @see https://eips.ethereum.org/EIPS/eip-55
 */
import { createECDH, randomBytes } from 'node:crypto'
import { keccak_256 } from '@noble/hashes/sha3'

/** The address of `key` (0x + 64 hex); throws a message without the key when it is out of range. */
export function addressOfKey(key: `0x${string}`): `0x${string}` {
  const ecdh = createECDH('secp256k1')
  try {
    ecdh.setPrivateKey(Buffer.from(key.slice(2), 'hex'))
  } catch {
    throw new RangeError('not a valid secp256k1 private key')
  }
  // Uncompressed public key: 0x04, then X and Y; the address is the last 20 bytes of their hash.
  const publicKey = ecdh.getPublicKey(null, 'uncompressed')
  const hex = Buffer.from(keccak_256(publicKey.subarray(1)).subarray(12)).toString('hex')
  return checksumAddress(hex)
}

/** A new private key: 32 random bytes in secp256k1's range (retried in the ~2^-128 case it is not). */
export function newPrivateKey(): `0x${string}` {
  for (;;) {
    const key = `0x${randomBytes(32).toString('hex')}` as const
    try {
      addressOfKey(key)
      return key
    } catch {
      // out of range: draw again
    }
  }
}

/** EIP-55: each hex letter is upper case where the hash of the lower-case address has a high nibble. */
function checksumAddress(lowerHex: string): `0x${string}` {
  const hash = Buffer.from(keccak_256(lowerHex)).toString('hex')
  let out = '0x'
  for (let i = 0; i < lowerHex.length; i++) out += Number.parseInt(hash[i]!, 16) >= 8 ? lowerHex[i]!.toUpperCase() : lowerHex[i]!
  return out as `0x${string}`
}
