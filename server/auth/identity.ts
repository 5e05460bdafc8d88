/**
 * The identity proof: how our front doors (MCP server, OpenClaw plugin, CLI) tell a proxy of
 * ours, holding their wallet, from whatever else answers on the port (a squatter, another user's
 * proxy, BlockRun's ClawRouter, a proxy over another data directory).
 *
 * The client sends a fresh random nonce (`GET /v1/identity?nonce=…`); the proxy answers with its
 * wallet address and an HMAC-SHA256, keyed by the proxy token (./token.ts, mode 0600), over the
 * nonce, the wallet, the auth mode and the address and port the connection reached. The client
 * recomputes it with its own copy of the token and checks the wallet is its own. The secret never
 * crosses the wire, a recorded answer is worthless for another nonce, and a squatter that relays
 * the challenge to a real proxy elsewhere gets a proof for that proxy's address, not the one the
 * client dialled.
 *
 * @see https://www.rfc-editor.org/rfc/rfc2104 (HMAC)
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

import type { LimitsClaim } from '../core/limits.js'

export const IDENTITY_PATH = '/v1/identity'

/** Nonces: 16 to 64 bytes, hex. */
export const NONCE_PATTERN = /^[0-9a-f]{32,128}$/

export type IdentityClaim = {
  service: string
  version: string
  /** The proxy's wallet address (EIP-55). */
  wallet: string
  /** How the proxy admits callers (server/auth/mode.ts). */
  auth: string
  /** Hex HMAC-SHA256 (see identityProof). */
  proof: string
  /** The spending limits it pays under, so a front door with other limits does not use it (server/core/limits.ts). */
  limits?: LimitsClaim
}

/** What the proof covers; `endpoint` is the `address:port` the connection reached, IPv4-mapped addresses unwrapped. */
export type ProofInput = { nonce: string; wallet: string; auth: string; endpoint: string }

export function newNonce(): string {
  return randomBytes(32).toString('hex')
}

export function identityProof(token: string, { nonce, wallet, auth, endpoint }: ProofInput): string {
  const message = ['blockrun-imagegen identity v1', nonce, wallet.toLowerCase(), auth, endpoint].join('\n')
  return createHmac('sha256', token).update(message).digest('hex')
}

/** True when `proof` is the one `token` gives for `input`. */
export function proofMatches(token: string, input: ProofInput, proof: string): boolean {
  const expected = Buffer.from(identityProof(token, input), 'hex')
  const given = /^[0-9a-f]{64}$/.test(proof) ? Buffer.from(proof, 'hex') : Buffer.alloc(0)
  return given.length === expected.length && timingSafeEqual(given, expected)
}

/** `address:port` as both ends name it: `::ffff:127.0.0.1` is `127.0.0.1`. */
export function endpointName(address: string | undefined, port: number | undefined): string {
  const plain = (address ?? '').replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '').toLowerCase()
  return `${plain}:${port ?? 0}`
}
