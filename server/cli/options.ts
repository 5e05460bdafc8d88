/**
 * Flags shared by the commands that build Settings, mapped onto the same names the environment
 * and the plugin config use. There is deliberately no flag for the wallet key: command lines are
 * visible to every user of the machine (`ps`), so the key comes only from the environment, the
 * plugin config or the key file.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { resolveSettings, settingsFromEnv, type Settings, type SettingsInput } from '../config.js'
import { openCore, type ImagegenCore } from '../core/index.js'

export const SETTINGS_FLAGS = {
  port: { type: 'string' },
  host: { type: 'string' },
  upstream: { type: 'string' },
  home: { type: 'string' },
  'default-model': { type: 'string' },
  'max-per-request': { type: 'string' },
  'daily-budget': { type: 'string' },
  networks: { type: 'string' },
  payees: { type: 'string' },
  'max-timeout-seconds': { type: 'string' },
  'confirm-above': { type: 'string' },
  'timeout-seconds': { type: 'string' },
  'poll-interval-seconds': { type: 'string' },
  'rpc-url': { type: 'string' },
  auth: { type: 'string' },
  'allowed-origins': { type: 'string' },
  chain: { type: 'string' },
  'solana-rpc-url': { type: 'string' },
} as const satisfies ParseArgsConfig['options']

export function parseCommand<const O extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: O) {
  return parseArgs({ args, options: { ...SETTINGS_FLAGS, ...options }, allowPositionals: true, strict: true })
}

/** Settings from flags over env over defaults. */
export function settingsFromFlags(values: Record<string, unknown>): Settings {
  const flags: SettingsInput = {
    port: values.port as string | undefined,
    host: values.host as string | undefined,
    upstream: values.upstream as string | undefined,
    home: values.home as string | undefined,
    defaultModel: values['default-model'] as string | undefined,
    maxPerRequest: values['max-per-request'] as string | undefined,
    dailyBudget: values['daily-budget'] as string | undefined,
    networks: values.networks as string | undefined,
    payees: values.payees as string | undefined,
    maxTimeoutSeconds: values['max-timeout-seconds'] as string | undefined,
    confirmAbove: values['confirm-above'] as string | undefined,
    timeoutSeconds: values['timeout-seconds'] as string | undefined,
    pollIntervalSeconds: values['poll-interval-seconds'] as string | undefined,
    rpcUrl: values['rpc-url'] as string | undefined,
    auth: values.auth as string | undefined,
    allowedOrigins: values['allowed-origins'] as string | undefined,
    paymentChain: values.chain as string | undefined,
    solanaRpcUrl: values['solana-rpc-url'] as string | undefined,
  }
  return resolveSettings(flags, settingsFromEnv())
}

/** The core for a one-shot command; says on stderr why a program on the port is not used, if one answers. */
export async function openCommandCore(settings: Settings): Promise<ImagegenCore> {
  const core = await openCore(settings)
  if (core.why) process.stderr.write(`imagegen: ${core.why}\n`)
  return core
}
