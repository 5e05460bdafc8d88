/**
 * The flags for Settings, one per setting a user may set, mapped onto the names the environment
 * (config.ts SETTINGS_ENV) and the plugin config use. The help lists each with the variables read
 * in its absence and its default.
 *
 * There is deliberately no flag for a wallet key: command lines are visible to every user of the
 * machine (`ps`), so keys come only from the environment, the plugin config or the key files.
 */
import { resolveSettings, settingsFromEnv, SETTINGS_ENV, type Settings, type SettingsInput } from '../config.js'
import type { FlagSpec } from './flags.js'

type SettingFlag = FlagSpec & {
  /** The setting the flag sets; the environment variables of every setting named are listed. */
  settings: readonly (keyof SettingsInput)[]
}

function setting(settings: SettingFlag['settings'], spec: Omit<SettingFlag, 'settings' | 'env' | 'type'> & { type?: FlagSpec['type'] }): SettingFlag {
  return { type: 'string', ...spec, settings, env: settings.flatMap((name) => SETTINGS_ENV[name]) }
}

export const SETTINGS_FLAGS = {
  port: setting(['port'], { value: 'PORT', description: "The proxy's port: `serve` listens on it; the other commands use a proxy of ours that answers there (0: never look).", default: '8402' }),
  host: setting(['host'], { value: 'ADDRESS', description: 'The address `serve` binds; beyond loopback every caller but you must send the token.', default: '127.0.0.1' }),
  upstream: setting(['upstream'], { value: 'URL', description: "BlockRun's API, or a sandbox's (`imagegen sandbox` prints its URL).", default: 'https://blockrun.ai/api (https://sol.blockrun.ai/api on Solana)' }),
  home: setting(['home'], { value: 'DIR', description: 'Data directory: wallet, images, ledger, proxy token.', default: '~/.openclaw/blockrun' }),
  'default-model': setting(['defaultModel'], { value: 'MODEL', description: 'The model of requests that name none.', default: 'google/nano-banana' }),
  'max-per-request': setting(['maxPerRequest'], { value: 'USD', description: 'Largest single payment.', default: '0.50' }),
  'daily-budget': setting(['dailyBudget'], { value: 'USD', description: 'Most spent in any 24 hours.', default: '5.00' }),
  networks: setting(['networks'], { value: 'LIST', description: 'Networks a payment may use (CAIP-2 ids, comma-separated).', default: "the paying chain's mainnet and testnet" }),
  payees: setting(['payees'], { value: 'LIST', description: 'Only pay these addresses (comma-separated).', default: 'any' }),
  'max-timeout-seconds': setting(['maxTimeoutSeconds'], { value: 'SECONDS', description: 'Longest-lived payment authorization signed.', default: '900' }),
  'confirm-above': setting(['confirmAbove'], { value: 'USD', description: "Above this price a payment needs the user's yes (asked at the terminal; refused where nobody can be asked).", default: 'unset (never asked)' }),
  'timeout-seconds': setting(['timeoutSeconds'], { value: 'SECONDS', description: 'Deadline for the upstream, a slow job included.', default: '300' }),
  'poll-interval-seconds': setting(['pollIntervalSeconds'], { value: 'SECONDS', description: 'Wait between polls of a slow job.', default: '3' }),
  'max-input-mb': setting(['maxInputMb'], { value: 'MB', description: 'Largest edit input read from a path or URL.', default: '25' }),
  'allow-private-urls': setting(['allowPrivateUrls'], { type: 'boolean', description: 'Let edit inputs come from loopback and private addresses.', default: 'off' }),
  'rpc-url': setting(['rpcUrl'], { value: 'URL', description: 'Base RPC, for USDC balances on Base.', default: 'https://mainnet.base.org' }),
  'sepolia-rpc-url': setting(['sepoliaRpcUrl'], { value: 'URL', description: 'Base Sepolia RPC, for test-USDC balances (a sandbox answers at its /rpc).', default: 'https://sepolia.base.org' }),
  'solana-rpc-url': setting(['solanaRpcUrl'], { value: 'URL', description: 'Solana RPC: USDC mint, blockhash, balances.', default: 'https://api.mainnet-beta.solana.com' }),
  'solana-devnet-rpc-url': setting(['solanaDevnetRpcUrl'], { value: 'URL', description: 'Solana devnet RPC (a sandbox answers at its /rpc).', default: 'https://api.devnet.solana.com' }),
  auth: setting(['auth'], { value: 'MODE', choices: ['auto', 'token'], description: 'Who may call the proxy: auto (on Linux your user only, by the socket table) or token (everyone sends it).', default: 'auto' }),
  'allowed-origins': setting(['allowedOrigins'], { value: 'LIST', description: "Web origins allowed to call the proxy besides its own (comma-separated).", default: 'none' }),
  chain: setting(['paymentChain', 'clawRouterPaymentChain'], { value: 'CHAIN', choices: ['base', 'solana'], description: 'The chain that pays.', default: '$BLOCKRUN_HOME/payment-chain, else base' }),
} as const satisfies Record<string, SettingFlag>

export type SettingFlagName = keyof typeof SETTINGS_FLAGS

/** The settings the flags given set, as a layer for resolveSettings (over the environment's). */
export function settingsLayer(values: Record<string, unknown>): SettingsInput {
  const layer: Record<string, unknown> = {}
  for (const [flag, spec] of Object.entries(SETTINGS_FLAGS) as Array<[string, SettingFlag]>) if (values[flag] !== undefined) layer[spec.settings[0]!] = values[flag]
  return layer as SettingsInput
}

/**
 * Settings from flags over the environment over the defaults. A value refused is reported with
 * where it came from (the flag, or the environment variable), since the same setting has both.
 */
export function settingsFromFlags(values: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): Settings {
  const flags = settingsLayer(values)
  const fromEnv = settingsFromEnv(env)
  try {
    return resolveSettings(flags, fromEnv)
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    throw new SettingsError(`${message}${settingCulprit(flags, fromEnv, env)}`)
  }
}

/** A setting refused at start: the CLI says so with exit code 2, before anything else happens. */
export class SettingsError extends Error {
  override name = 'SettingsError'
}

/** " (from --flag)" or " (from VARIABLE)": the one value whose absence lets the settings resolve. */
export function settingCulprit(flags: SettingsInput, fromEnv: SettingsInput, env: NodeJS.ProcessEnv): string {
  const without = (layer: SettingsInput, key: string) => Object.fromEntries(Object.entries(layer).filter(([name]) => name !== key)) as SettingsInput
  const resolves = (...layers: SettingsInput[]) => {
    try {
      resolveSettings(...layers)
      return true
    } catch {
      return false
    }
  }
  for (const key of Object.keys(flags)) {
    if (resolves(without(flags, key), fromEnv)) {
      const flag = Object.entries(SETTINGS_FLAGS).find(([, spec]) => (spec as SettingFlag).settings[0] === key)?.[0]
      return flag ? ` (from --${flag})` : ''
    }
  }
  for (const key of Object.keys(fromEnv)) {
    if (resolves(flags, without(fromEnv, key))) {
      const variable = SETTINGS_ENV[key as keyof typeof SETTINGS_ENV].find((name) => env[name])
      return variable ? ` (from ${variable})` : ''
    }
  }
  return ''
}
