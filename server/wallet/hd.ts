/**
 * Hierarchical key derivation from a BIP-39 seed, with Node's own crypto (HMAC-SHA512 and
 * secp256k1), so a mnemonic wallet's addresses are known at start without loading viem or
 * @solana/kit:
 *
 * - EVM: BIP-32 over secp256k1 at `m/44'/60'/0'/0/0`, as ClawRouter's `deriveEvmKey` (via
 *   @scure/bip32) and every Ethereum wallet derive it;
 * - Solana: SLIP-10 over ed25519 at `m/44'/501'/0'/0'` (hardened only), as ClawRouter's
 *   `deriveSolanaKeyBytes` and Phantom, Solflare and Backpack derive it.
 *
 * tests/solana-wallet.test.ts checks both against independent implementations (@scure/bip32 +
 * viem, and a SLIP-10 written in the test) and against ClawRouter's published vector.
 *
 * @see https://github.com/bitcoin/bips/blob/master/bip-0032.mediawiki
 * @see https://github.com/satoshilabs/slips/blob/master/slip-0010.md
 */
import { createECDH, createHmac, pbkdf2Sync } from 'node:crypto'

const HARDENED = 0x80000000
/** The order of secp256k1's group. */
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n

export const EVM_PATH = "m/44'/60'/0'/0/0"
export const SOLANA_PATH = "m/44'/501'/0'/0'"

/** BIP-39: the 64-byte seed of a mnemonic (PBKDF2-HMAC-SHA512, 2048 rounds, salt "mnemonic" + passphrase). */
export function mnemonicToSeed(mnemonic: string, passphrase = ''): Buffer {
  return pbkdf2Sync(Buffer.from(mnemonic.normalize('NFKD'), 'utf8'), Buffer.from(`mnemonic${passphrase}`.normalize('NFKD'), 'utf8'), 2048, 64, 'sha512')
}

function parsePath(path: string): number[] {
  const parts = path.split('/')
  if (parts.shift() !== 'm') throw new Error(`not a derivation path: ${path}`)
  return parts.map((part) => {
    const hardened = part.endsWith("'")
    const index = Number(hardened ? part.slice(0, -1) : part)
    if (!Number.isInteger(index) || index < 0 || index >= HARDENED) throw new Error(`not a derivation path: ${path}`)
    return hardened ? index + HARDENED : index
  })
}

function ser32(index: number): Buffer {
  const out = Buffer.alloc(4)
  out.writeUInt32BE(index >>> 0)
  return out
}

/** SLIP-10 ed25519: the 32-byte private key (seed of the ed25519 key pair) at a hardened-only path. */
export function deriveEd25519(seed: Uint8Array, path = SOLANA_PATH): Buffer {
  let I = createHmac('sha512', 'ed25519 seed').update(seed).digest()
  for (const index of parsePath(path)) {
    if (index < HARDENED) throw new Error('ed25519 derivation is hardened only')
    I = createHmac('sha512', I.subarray(32)).update(Buffer.concat([Buffer.alloc(1), I.subarray(0, 32), ser32(index)])).digest()
  }
  return Buffer.from(I.subarray(0, 32))
}

/** BIP-32 secp256k1: the 32-byte private key at `path`. */
export function deriveSecp256k1(seed: Uint8Array, path = EVM_PATH): Buffer {
  let I = createHmac('sha512', 'Bitcoin seed').update(seed).digest()
  let key = toScalar(I.subarray(0, 32))
  let chainCode = I.subarray(32)
  for (const index of parsePath(path)) {
    const keyBytes = fromScalar(key)
    const data = index >= HARDENED ? Buffer.concat([Buffer.alloc(1), keyBytes, ser32(index)]) : Buffer.concat([compressedPublicKey(keyBytes), ser32(index)])
    I = createHmac('sha512', chainCode).update(data).digest()
    const tweak = toScalar(I.subarray(0, 32))
    key = (tweak + key) % SECP256K1_N
    // Both cases have probability below 2^-127; BIP-32 says to skip to the next index, which no wallet does in practice.
    if (tweak >= SECP256K1_N || key === 0n) throw new Error('invalid BIP-32 child key')
    chainCode = I.subarray(32)
  }
  return fromScalar(key)
}

function compressedPublicKey(privateKey: Buffer): Buffer {
  const ecdh = createECDH('secp256k1')
  ecdh.setPrivateKey(privateKey)
  return ecdh.getPublicKey(null, 'compressed')
}

function toScalar(bytes: Uint8Array): bigint {
  return BigInt(`0x${Buffer.from(bytes).toString('hex')}`)
}

function fromScalar(value: bigint): Buffer {
  return Buffer.from(value.toString(16).padStart(64, '0'), 'hex')
}
