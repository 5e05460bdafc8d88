/**
 * Solana keys: the ed25519 key pair's public key (the address, base58) from its 32-byte private
 * key, with Node's ed25519, and the forms a Solana key is written in:
 * - a 64-byte secret key (private key then public key), base58: what Phantom exports and what
 *   BlockRun's SDK reads from `SOLANA_WALLET_KEY`;
 * - the same 64 bytes as hex, or as the Solana CLI's JSON byte array (`[12,34,...]`).
 * A 64-byte key whose second half is not the first half's public key is refused (a typo, or two
 * keys glued together), and a 32-byte hex key is an EVM key, not a Solana one (the SDK says the same).
 *
 * @see https://datatracker.ietf.org/doc/html/rfc8032
 */
import { createPrivateKey, createPublicKey } from 'node:crypto'
import { base58Decode, base58Encode } from './base58.js'

/** PKCS#8 wrapping of a raw ed25519 private key (RFC 8410), so Node can import it. */
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')

/** The 32-byte public key of a 32-byte ed25519 private key. */
export function ed25519PublicKey(privateKey: Uint8Array): Buffer {
  const key = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, privateKey]), format: 'der', type: 'pkcs8' })
  const jwk = createPublicKey(key).export({ format: 'jwk' }) as { x?: string }
  return Buffer.from(jwk.x ?? '', 'base64url')
}

/** The Solana address (base58 public key) of a 32-byte private key. */
export function solanaAddressOf(privateKey: Uint8Array): string {
  return base58Encode(ed25519PublicKey(privateKey))
}

/** Reads a Solana secret key in any of its written forms; returns its 32-byte private key. Errors never quote the key. */
export function parseSolanaKey(text: string, where: string): Buffer {
  const trimmed = text.trim()
  let bytes: Uint8Array | undefined
  if (trimmed.startsWith('[')) {
    try {
      const parsed = JSON.parse(trimmed) as unknown
      if (Array.isArray(parsed) && parsed.every((n) => Number.isInteger(n) && n >= 0 && n <= 255)) bytes = Uint8Array.from(parsed as number[])
    } catch {
      // reported below
    }
  } else if (/^(0x)?[0-9a-fA-F]+$/.test(trimmed) && (trimmed.replace(/^0x/, '').length === 64 || trimmed.replace(/^0x/, '').length === 128)) {
    const hex = trimmed.replace(/^0x/, '')
    if (hex.length === 64) throw new Error(`${where} is a 32-byte hex key: that is the EVM (Base) key format, not a Solana key (64 bytes, usually base58).`)
    bytes = Buffer.from(hex, 'hex')
  } else {
    try {
      bytes = base58Decode(trimmed)
    } catch {
      bytes = undefined
    }
  }
  if (!bytes || bytes.length !== 64) {
    throw new Error(`${where} is not a Solana secret key: expected 64 bytes as base58 (as Phantom exports it), hex, or a JSON byte array (the Solana CLI's key file).`)
  }
  const privateKey = Buffer.from(bytes.subarray(0, 32))
  if (!ed25519PublicKey(privateKey).equals(Buffer.from(bytes.subarray(32)))) {
    throw new Error(`${where} is not a consistent Solana secret key: its second half is not the public key of its first half.`)
  }
  return privateKey
}
