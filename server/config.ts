/**
 * One Settings object for the whole process. Precedence: CLI flags > plugin config > environment
 * (`BLOCKRUN_*`) > defaults. Every front door (CLI, MCP server, OpenClaw plugin) builds its
 * settings here, so one wallet, one ledger and one image store serve them all.
 */
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { bundledCatalog, DEFAULT_MODEL } from './catalog/index.js'
import { parseUsd } from './money.js'
import { canonicalAddress, chainOfAddress, findNetwork, NETWORKS, networksOf, type KnownNetwork, type PaymentChain } from './payment/networks.js'
import { BASE_UPSTREAM, checkUpstreamChain, choosePaymentChain, defaultUpstream } from './payment/chain.js'

export type SpendPolicy = {
  /** Largest single payment, base units. */
  maxPerRequest: bigint
  /** Most spent in any rolling 24 hours, base units. */
  dailyBudget: bigint
  /** Networks a payment may be made on (USDC on each). */
  networks: readonly KnownNetwork[]
  /** When set, the only addresses a payment may go to (lower-case). */
  payees: readonly string[] | null
  /** Longest authorization lifetime we sign. */
  maxTimeoutSeconds: number
  /**
   * A payment above this (base units) is signed only with the user's consent, asked by the front
   * door (MCP elicitation, a terminal prompt); undefined: never asked (`BLOCKRUN_CONFIRM_ABOVE`).
   */
  confirmAbove?: bigint | undefined
}

export type Settings = {
  host: string
  port: number
  /** Upstream base URL, without trailing slash, e.g. https://blockrun.ai/api */
  upstream: string
  /** Data directory: wallet.key, images/, ledger. */
  home: string
  /** From BLOCKRUN_WALLET_KEY or the plugin config; never logged. */
  walletKey: string | undefined
  defaultModel: string
  policy: SpendPolicy
  /** Deadline for one whole upstream exchange including 202 polling. */
  upstreamTimeoutMs: number
  /**
   * Wait between polls of a 202 job (BlockRun's SDK and ClawRouter poll every 3 s); the first
   * poll waits the shorter of this and 2 s (ClawRouter's first wait).
   */
  pollIntervalMs: number
  /** Largest edit input or mask, bytes. */
  maxInputBytes: number
  /** Let edit inputs come from loopback/private addresses. */
  allowPrivateUrls: boolean
  /** JSON-RPC endpoint of Base, used to read the USDC balance (`BASE_RPC_URL`). */
  rpcUrl: string
  /** JSON-RPC endpoint of Base Sepolia, for balances in testnet payment errors (`BASE_SEPOLIA_RPC_URL`). */
  sepoliaRpcUrl: string
  /**
   * Who may call the proxy (see server/auth/mode.ts): `auto` checks the owner of each connection on
   * Linux and requires the token beyond loopback; `token` requires the token from everyone.
   */
  auth: AuthSetting
  /** Web origins allowed besides the proxy's own (`http://127.0.0.1:<port>`, `http://localhost:<port>`). */
  allowedOrigins: readonly string[]
  /** The chain that pays (payment/chain.ts), and where that choice came from. */
  paymentChain: PaymentChain
  paymentChainSource: string
  /** A Solana secret key from `BLOCKRUN_SOLANA_KEY`/`SOLANA_WALLET_KEY` or the plugin config; never logged. */
  solanaKey: string | undefined
  /** Solana JSON-RPC endpoints (mint, blockhash and balance reads): mainnet (`SOLANA_RPC_URL`) and devnet (`SOLANA_DEVNET_RPC_URL`). */
  solanaRpcUrl: string
  solanaDevnetRpcUrl: string
}

export type AuthSetting = 'auto' | 'token'

/** What a user may set, all optional, each as text or number (flags and env are text). */
export type SettingsInput = Partial<{
  host: string
  port: string | number
  upstream: string
  home: string
  walletKey: string
  defaultModel: string
  maxPerRequest: string | number
  dailyBudget: string | number
  networks: string | readonly string[]
  payees: string | readonly string[]
  maxTimeoutSeconds: string | number
  confirmAbove: string | number
  timeoutSeconds: string | number
  pollIntervalSeconds: string | number
  maxInputMb: string | number
  allowPrivateUrls: string | boolean
  rpcUrl: string
  sepoliaRpcUrl: string
  auth: string
  allowedOrigins: string | readonly string[]
  paymentChain: string
  /** ClawRouter's `CLAWROUTER_PAYMENT_CHAIN`, read with ClawRouter's leniency (payment/chain.ts). */
  clawRouterPaymentChain: string
  solanaKey: string
  solanaRpcUrl: string
  solanaDevnetRpcUrl: string
}>

export const DEFAULT_PORT = 8402
/** BlockRun's Base gateway: the upstream when nothing else is set and the chain is Base (payment/chain.ts). */
export const DEFAULT_UPSTREAM = BASE_UPSTREAM

/**
 * The environment variables each setting is read from, first set wins. The CLI's help names them
 * from this table (server/cli/settings-flags.ts), so what it says is what is read.
 */
export const SETTINGS_ENV = {
  host: ['BLOCKRUN_HOST'],
  port: ['BLOCKRUN_PROXY_PORT'],
  upstream: ['BLOCKRUN_API_URL'],
  home: ['BLOCKRUN_HOME'],
  walletKey: ['BLOCKRUN_WALLET_KEY'],
  defaultModel: ['BLOCKRUN_DEFAULT_MODEL'],
  maxPerRequest: ['BLOCKRUN_MAX_PER_REQUEST'],
  dailyBudget: ['BLOCKRUN_DAILY_BUDGET'],
  networks: ['BLOCKRUN_ALLOWED_NETWORKS'],
  payees: ['BLOCKRUN_ALLOWED_PAYEES'],
  maxTimeoutSeconds: ['BLOCKRUN_MAX_TIMEOUT_SECONDS'],
  confirmAbove: ['BLOCKRUN_CONFIRM_ABOVE'],
  timeoutSeconds: ['BLOCKRUN_TIMEOUT_SECONDS'],
  pollIntervalSeconds: ['BLOCKRUN_POLL_INTERVAL_SECONDS'],
  maxInputMb: ['BLOCKRUN_MAX_INPUT_MB'],
  allowPrivateUrls: ['BLOCKRUN_ALLOW_PRIVATE_URLS'],
  rpcUrl: ['BASE_RPC_URL'],
  sepoliaRpcUrl: ['BASE_SEPOLIA_RPC_URL'],
  auth: ['BLOCKRUN_AUTH'],
  allowedOrigins: ['BLOCKRUN_ALLOWED_ORIGINS'],
  paymentChain: ['BLOCKRUN_PAYMENT_CHAIN'],
  clawRouterPaymentChain: ['CLAWROUTER_PAYMENT_CHAIN'],
  // BlockRun's SDK reads SOLANA_WALLET_KEY and SOLANA_RPC_URL; ClawRouter CLAWROUTER_SOLANA_RPC_URL.
  solanaKey: ['BLOCKRUN_SOLANA_KEY', 'SOLANA_WALLET_KEY'],
  solanaRpcUrl: ['SOLANA_RPC_URL', 'CLAWROUTER_SOLANA_RPC_URL'],
  solanaDevnetRpcUrl: ['SOLANA_DEVNET_RPC_URL'],
} as const satisfies Record<keyof SettingsInput, readonly string[]>

/** Reads the `BLOCKRUN_*` variables (SETTINGS_ENV) into a SettingsInput. */
export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env): SettingsInput {
  // Unset: absent, empty, or a `${user_config.x}` placeholder a Claude Desktop extension host
  // passed through unexpanded for an optional field left blank.
  const pick = (name: string) => (env[name] === undefined || env[name] === '' || /^\$\{user_config\.[\w-]+\}$/.test(env[name]!) ? undefined : env[name])
  const input: Record<string, string | undefined> = {}
  for (const [setting, names] of Object.entries(SETTINGS_ENV)) input[setting] = names.map(pick).find((value) => value !== undefined)
  return stripUndefined(input) as SettingsInput
}

/**
 * Merges layers (earliest wins) over the defaults and checks every value. Throws an Error whose
 * message names the setting; it never echoes the wallet key.
 */
export function resolveSettings(...layers: SettingsInput[]): Settings {
  const merged: SettingsInput = {}
  for (const layer of [...layers].reverse()) Object.assign(merged, stripUndefined(layer))

  const home = resolve(expandHome(merged.home ?? join(homedir(), '.openclaw', 'blockrun')))
  const port = toInteger('port', merged.port ?? DEFAULT_PORT, 0, 65535)
  const defaultModel = canonicalModel(merged.defaultModel ?? DEFAULT_MODEL)

  const { chain, source: chainSource } = choosePaymentChain(merged.paymentChain, merged.clawRouterPaymentChain, home)
  const upstream = toHttpUrl('upstream', merged.upstream ?? defaultUpstream(chain), { base: true }).replace(/\/+$/, '')
  checkUpstreamChain(upstream, chain)
  // Only the paying chain's networks: a requirement on the other chain is refused, never paid from the other wallet.
  const networkNames = toList(merged.networks ?? networksOf(chain).map((n) => n.caip2))
  const networks = networkNames.map((name) => {
    const network = findNetwork(name)
    if (!network) throw new Error(`allowed networks: unknown network "${name}" (known: ${NETWORKS.map((n) => n.caip2).join(', ')})`)
    if (network.chain !== chain) throw new Error(`allowed networks: ${network.caip2} is not on the payment chain ${chain} (set BLOCKRUN_PAYMENT_CHAIN=${network.chain} to pay there)`)
    return network
  })
  const payees = merged.payees === undefined ? null : toList(merged.payees).map(canonicalAddress)
  for (const payee of payees ?? []) if (!chainOfAddress(payee)) throw new Error(`allowed payees: "${payee}" is not an address`)
  const auth = (merged.auth ?? 'auto').trim().toLowerCase()
  if (auth !== 'auto' && auth !== 'token') throw new Error(`auth: expected "auto" or "token", got "${merged.auth}"`)
  const allowedOrigins = toList(merged.allowedOrigins ?? []).map(toOrigin)

  return redactKey({
    host: merged.host ?? '127.0.0.1',
    port,
    upstream,
    home,
    walletKey: merged.walletKey,
    defaultModel,
    policy: {
      maxPerRequest: toUsd('max per request', merged.maxPerRequest ?? '0.50'),
      dailyBudget: toUsd('daily budget', merged.dailyBudget ?? '5.00'),
      networks,
      payees,
      maxTimeoutSeconds: toInteger('max timeout seconds', merged.maxTimeoutSeconds ?? 900, 1, 86400),
      confirmAbove: merged.confirmAbove === undefined ? undefined : toUsd('confirm above', merged.confirmAbove),
    },
    upstreamTimeoutMs: toInteger('timeout seconds', merged.timeoutSeconds ?? 300, 1, 3600) * 1000,
    pollIntervalMs: toMilliseconds('poll interval seconds', merged.pollIntervalSeconds ?? 3, 0.01, 60),
    maxInputBytes: toInteger('max input MB', merged.maxInputMb ?? 25, 1, 512) * 1024 * 1024,
    allowPrivateUrls: toBoolean(merged.allowPrivateUrls ?? false),
    rpcUrl: toHttpUrl('Base RPC URL', merged.rpcUrl ?? 'https://mainnet.base.org'),
    sepoliaRpcUrl: toHttpUrl('Base Sepolia RPC URL', merged.sepoliaRpcUrl ?? 'https://sepolia.base.org'),
    auth,
    allowedOrigins,
    paymentChain: chain,
    paymentChainSource: chainSource,
    solanaKey: merged.solanaKey,
    // ClawRouter's default (and @x402/svm's): the public RPC of each cluster.
    solanaRpcUrl: toHttpUrl('Solana RPC URL', merged.solanaRpcUrl ?? 'https://api.mainnet-beta.solana.com'),
    solanaDevnetRpcUrl: toHttpUrl('Solana devnet RPC URL', merged.solanaDevnetRpcUrl ?? 'https://api.devnet.solana.com'),
  })
}

/**
 * An http(s) URL, checked at start: a typo (`notaurl`, `127.0.0.1:9402/api` without the scheme)
 * would otherwise start fine and fail every request. Returned as written. An upstream is a base
 * that routes are appended to, so it has no query; an RPC URL may carry one (a provider's key).
 */
function toHttpUrl(name: string, value: string, { base = false } = {}): string {
  const text = value.trim()
  const url = URL.canParse(text) ? new URL(text) : undefined
  const http = url && (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname
  if (!http || (base && (url.search || url.hash || url.username || url.password))) {
    const example = base ? 'https://blockrun.ai/api (scheme, host, optional port and path; no query)' : 'https://mainnet.base.org'
    throw new Error(`${name}: "${value}" is not an http(s) URL such as ${example}`)
  }
  return text
}

/** An allowed origin as browsers send it: scheme, host and port only (`http://localhost:3000`). */
function toOrigin(value: string): string {
  const url = URL.canParse(value) ? new URL(value) : undefined
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.pathname !== '/' || url.search || url.hash || url.username || url.password)
    throw new Error(`allowed origins: "${value}" is not an origin such as http://localhost:3000 (scheme, host and port; no path)`)
  return url.origin
}

const INSPECT = Symbol.for('nodejs.util.inspect.custom')

/**
 * Settings carry the wallet key when it came from the environment or the plugin config. A
 * settings object that ends up in a log line, a crash dump or a JSON body must not show it:
 * - the key sits behind an accessor, which `util.inspect` prints as `[Getter/Setter]` without
 *   calling it (Node's uncaught-exception printer ignores custom inspectors, so this matters);
 * - `toJSON` and the custom inspector print `[redacted]`.
 * Reading `settings.walletKey` and spreading the object still give the key, so no code path
 * silently falls back to another wallet.
 */
function redactKey(settings: Settings): Settings {
  const keys = { walletKey: settings.walletKey, solanaKey: settings.solanaKey }
  for (const name of ['walletKey', 'solanaKey'] as const) {
    Object.defineProperty(settings, name, {
      enumerable: true,
      configurable: true,
      get: () => keys[name],
      set: (value: string | undefined) => {
        keys[name] = value
      },
    })
  }
  const redacted = () => {
    const { toJSON: _toJSON, [INSPECT]: _inspect, walletKey: _key, solanaKey: _solana, ...plain } = settings as Settings & { toJSON?: unknown; [INSPECT]?: unknown }
    return { ...plain, walletKey: keys.walletKey === undefined ? undefined : '[redacted]', solanaKey: keys.solanaKey === undefined ? undefined : '[redacted]' }
  }
  return Object.assign(settings, { toJSON: redacted, [INSPECT]: redacted })
}

/**
 * The default model, checked offline against the bundled table: an alias becomes its full id; an
 * old name stays as written, so every request names it and its answer states the substitution; a
 * full id the table lacks (`provider/model`) may be one only the live catalog lists, and is checked
 * when a request uses it. Anything else is a typo, refused at start.
 */
function canonicalModel(name: string): string {
  const match = bundledCatalog().find(name)
  if (match) return match.substitution ? name.trim() : match.model.id
  if (/^[a-z0-9][a-z0-9._+-]*\/[a-z0-9._+-]+$/i.test(name.trim())) return name.trim().toLowerCase()
  throw new Error(`default model: unknown model "${name}"`)
}

export function expandHome(path: string): string {
  return path === '~' || path.startsWith('~/') ? join(homedir(), path.slice(1)) : path
}

function stripUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T
}

function toInteger(name: string, value: string | number, min: number, max: number): number {
  const number = typeof value === 'number' ? value : Number(value)
  if (!Number.isInteger(number) || number < min || number > max) throw new Error(`${name}: expected a whole number from ${min} to ${max}, got "${value}"`)
  return number
}

/** Seconds (decimals allowed, to the millisecond) as whole milliseconds. */
function toMilliseconds(name: string, value: string | number, min: number, max: number): number {
  const seconds = typeof value === 'number' ? value : /^\s*\d+(\.\d{1,3})?\s*$/.test(value) ? Number(value) : Number.NaN
  if (!Number.isFinite(seconds) || seconds < min || seconds > max) throw new Error(`${name}: expected a number of seconds from ${min} to ${max}, got "${value}"`)
  return Math.round(seconds * 1000)
}

function toUsd(name: string, value: string | number): bigint {
  try {
    return parseUsd(String(value))
  } catch {
    throw new Error(`${name}: expected a dollar amount such as 0.50, got "${value}"`)
  }
}

function toList(value: string | readonly string[]): string[] {
  const items = typeof value === 'string' ? value.split(',') : [...value]
  return items.map((s) => s.trim()).filter(Boolean)
}

function toBoolean(value: string | boolean): boolean {
  return typeof value === 'boolean' ? value : ['1', 'true', 'yes', 'on'].includes(value.toLowerCase())
}
