/**
 * How the proxy decides who may call it, fixed once at start from the `auth` setting, the OS and
 * the bound address:
 *
 * - `owner` (Linux, the default there): a caller on this machine is admitted when the kernel's
 *   socket table says the connection belongs to the user running the proxy (./socket-owner.ts).
 *   Plain `curl localhost:8402` keeps working for that user and no one else. A connection with no
 *   row (a peer on another machine) needs the token.
 * - `token` (`BLOCKRUN_AUTH=token`, or another OS bound beyond loopback): every call needs the
 *   token, as `Authorization: Bearer` or a browser session cookie (GET and HEAD only).
 * - `loopback` (another OS on loopback): anything that can reach the loopback port may call, as
 *   before; those systems have no socket table to ask, and the token stays opt-in there.
 *
 * In every mode a valid Bearer token is accepted, and the Host and Origin checks still apply.
 */
import type { Settings } from '../config.js'
import { isLoopbackHost } from '../http/middleware/local-only/index.js'
import { socketTableReadable } from './socket-owner.js'

export type AuthMode = 'owner' | 'token' | 'loopback'

export type AuthDecision = {
  mode: AuthMode
  /** Bound beyond loopback: callers from other machines reach the port. */
  exposed: boolean
  /** Why the mode is not what the setting alone would give, for the start-up log. */
  note?: string
}

export async function decideAuthMode(settings: Pick<Settings, 'auth' | 'host'>, platform: NodeJS.Platform = process.platform): Promise<AuthDecision> {
  const exposed = !isLoopbackHost(settings.host)
  if (settings.auth === 'token') return { mode: 'token', exposed }
  if (platform === 'linux') {
    if (await socketTableReadable()) return { mode: 'owner', exposed }
    return { mode: 'token', exposed, note: 'the socket table (/proc/net/tcp) cannot be read here, so every caller needs the token' }
  }
  if (exposed) return { mode: 'token', exposed }
  return { mode: 'loopback', exposed }
}
