/**
 * Talking to a proxy only once it has proved it is ours (server/auth/identity.ts).
 *
 * Every exchange uses its own keep-alive connection: first `GET /v1/identity` with a fresh nonce
 * (no secret sent), then, only if the proof matches our token and the wallet is ours, the request
 * itself on that same socket, with `Authorization: Bearer <token>`. Should the proxy close that
 * socket in between, the request is not sent on a new one: the proof starts over. So the token
 * never reaches a program that did not just prove it holds it, even if the port changed hands
 * since the core was opened.
 */
import { Agent, request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import { endpointName, IDENTITY_PATH, newNonce, proofMatches, type IdentityClaim } from '../auth/identity.js'
import { readConsentKey, readToken, tokenPath } from '../auth/token.js'
import type { Settings } from '../config.js'
import { SERVICE_NAME } from '../http/routes/info.js'
import { loadWallet } from '../wallet/key.js'

/**
 * What a client needs to check a proxy: its own copy of the token and its own wallet; and the
 * consent key, sent with a payment the user consented to (absent: such payments are refused).
 */
export type ProxyCredentials = { token: string; wallet: string; consentKey?: string | undefined }

/** The proxy on the port is not ours (or not provably): `reason` says why, for the user. */
export class ProxyNotProven extends Error {
  override name = 'ProxyNotProven'
  constructor(readonly reason: string) {
    super(reason)
  }
}

/** The connection ended before the answer was complete. */
export class ConnectionLost extends Error {
  override name = 'ConnectionLost'
  constructor() {
    super('the connection closed before the answer was complete')
  }
}

/** Our token and wallet address, read without creating either; a reason when one is missing. */
export async function loadProxyCredentials(settings: Pick<Settings, 'home' | 'walletKey'>): Promise<ProxyCredentials | { reason: string }> {
  let token: string | undefined
  try {
    token = await readToken(settings.home)
  } catch (error) {
    return { reason: (error as Error).message }
  }
  if (!token) return { reason: `there is no proxy token in ${settings.home} to check it with (a proxy over this data directory creates ${tokenPath(settings.home)} when it starts)` }
  try {
    const wallet = await loadWallet({ home: settings.home, key: settings.walletKey, create: false })
    const consentKey = await readConsentKey(settings.home).catch(() => undefined)
    return { token, wallet: wallet.address, consentKey }
  } catch (error) {
    return { reason: `our own wallet cannot be read to compare with (${(error as Error).message})` }
  }
}

export type Answer = { status: number; text: string }

/**
 * Asks the proxy to prove itself on `agent`'s connection; resolves with that socket and the
 * claim, or rejects with ProxyNotProven (or a connection error when nothing answers).
 */
export async function proveIdentity(agent: Agent, base: URL, credentials: ProxyCredentials, signal?: AbortSignal): Promise<{ socket: Socket; claim: IdentityClaim }> {
  const nonce = newNonce()
  let socket: Socket | undefined
  const answer = await exchange(new URL(`${IDENTITY_PATH}?nonce=${nonce}`, base), { agent, signal, onSocket: (s) => void (socket = s) })
  if (answer === 'refused') throw new ProxyNotProven('the identity request was not sent')
  let claim: Partial<IdentityClaim> | undefined
  try {
    claim = JSON.parse(answer.text) as Partial<IdentityClaim>
  } catch {
    // judged below
  }
  if (answer.status !== 200) {
    const message = (claim as { error?: { message?: string } } | undefined)?.error?.message
    throw new ProxyNotProven(answer.status === 404 || !message ? `it does not answer ${IDENTITY_PATH} as an imagegen proxy does (HTTP ${answer.status})` : `it refused to identify itself (HTTP ${answer.status}: ${message})`)
  }
  if (!claim || claim.service !== SERVICE_NAME || typeof claim.wallet !== 'string' || typeof claim.auth !== 'string' || typeof claim.proof !== 'string')
    throw new ProxyNotProven(`its ${IDENTITY_PATH} answer is not an imagegen proxy's`)
  const endpoint = endpointName(socket?.remoteAddress, socket?.remotePort)
  if (!proofMatches(credentials.token, { nonce, wallet: claim.wallet, auth: claim.auth, endpoint }, claim.proof))
    throw new ProxyNotProven(
      "its identity proof does not match our proxy token: it is not a proxy over our data directory (another user's, one over another home, or a program pretending to be one)",
    )
  if (claim.wallet.toLowerCase() !== credentials.wallet.toLowerCase()) throw new ProxyNotProven(`it pays from wallet ${claim.wallet}, not ours (${credentials.wallet})`)
  return { socket: socket!, claim: claim as IdentityClaim }
}

/**
 * One request to a proven proxy (see the module comment). No timeout of its own: a generation may
 * take as long as BLOCKRUN_TIMEOUT_SECONDS, so the caller's signal is the deadline. node:http rather
 * than fetch, which gives up after 300 s without response headers.
 */
export async function provenRequest(base: URL, credentials: ProxyCredentials, path: string, init: { method?: string; body?: string | undefined; signal?: AbortSignal | undefined; headers?: Record<string, string> | undefined } = {}): Promise<Answer> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  try {
    for (let attempt = 0; ; attempt++) {
      const { socket } = await proveIdentity(agent, base, credentials, init.signal)
      const answer = await exchange(new URL(path, base), {
        agent,
        method: init.method,
        body: init.body,
        signal: init.signal,
        headers: init.headers,
        // Sent only on the socket that just proved itself.
        onSocket: (s, request) => (s === socket ? void request.setHeader('authorization', `Bearer ${credentials.token}`) : 'refuse'),
      })
      if (answer !== 'refused') return answer
      if (attempt >= 2) throw new ProxyNotProven('it keeps closing the connection it proved itself on')
    }
  } finally {
    agent.destroy()
  }
}

type ExchangeOptions = {
  agent: Agent
  method?: string | undefined
  body?: string | undefined
  signal?: AbortSignal | undefined
  headers?: Record<string, string> | undefined
  /** Sees the socket before anything is written; 'refuse' drops the request unsent. */
  onSocket?: (socket: Socket, request: ClientRequest) => void | 'refuse'
}

function exchange(url: URL, { agent, method = 'GET', body, signal, headers: extra, onSocket }: ExchangeOptions): Promise<Answer | 'refused'> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...extra, accept: 'application/json' }
    if (body !== undefined) {
      headers['content-type'] = 'application/json'
      headers['content-length'] = String(Buffer.byteLength(body))
    }
    const request = httpRequest(url, { method, headers, agent, ...(signal ? { signal } : {}) })
    request.once('error', reject)
    request.once('socket', (socket: Socket) => {
      if (onSocket?.(socket, request) === 'refuse') {
        request.destroy()
        resolve('refused')
        return
      }
      request.end(body)
    })
    request.once('response', (response: IncomingMessage) => {
      const chunks: Buffer[] = []
      response.on('data', (chunk: Buffer) => chunks.push(chunk))
      response.once('error', () => reject(new ConnectionLost()))
      response.once('aborted', () => reject(new ConnectionLost()))
      response.once('end', () => {
        if (response.complete) resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') })
        else reject(new ConnectionLost())
      })
    })
  })
}
