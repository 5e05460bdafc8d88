/**
 * Plugin config → Settings. The plugin config (`plugins.entries.imagegen.config`) is one layer
 * over the same `BLOCKRUN_*` environment and defaults the CLI and the MCP server use, so a key,
 * port or budget set in either place is seen by all three front doors, and one wallet and one
 * ledger serve them all.
 *
 * Nothing here throws: a bad value becomes a message naming the setting (never its value, so the
 * wallet key cannot leak), which the plugin reports through `api.logger` and tool errors instead of
 * failing the gateway.
 */
import { resolveSettings, settingsFromEnv, type Settings, type SettingsInput } from '../../server/config.js'
import { DEFAULT_PREVIEW_EDGE, MAX_PREVIEW_EDGE } from '../preview.js'

/** Where users set it, for messages. */
export const CONFIG_PATH = 'plugins.entries.imagegen.config'

export type PluginSettings =
  | { ok: true; settings: Settings; previewEdge: number; warnings: string[] }
  | { ok: false; error: string }

const KEY_PATTERN = /^(0x)?[0-9a-fA-F]{64}$/

/** Config keys that are SettingsInput keys of the same name. */
const PASS_THROUGH = ['home', 'port', 'upstream', 'defaultModel', 'maxPerRequest', 'dailyBudget', 'networks', 'payees', 'maxTimeoutSeconds', 'confirmAbove', 'timeoutSeconds', 'pollIntervalSeconds', 'maxInputMb', 'allowPrivateUrls', 'rpcUrl', 'auth', 'allowedOrigins', 'paymentChain', 'solanaRpcUrl'] as const

export function loadPluginSettings(pluginConfig: Record<string, unknown> | undefined, env: NodeJS.ProcessEnv = process.env): PluginSettings {
  const config = pluginConfig ?? {}
  const warnings: string[] = []
  const layer: Record<string, unknown> = {}
  for (const key of PASS_THROUGH) if (config[key] !== undefined && config[key] !== '') layer[key] = config[key]

  const walletKey = config.walletKey
  if (walletKey !== undefined && walletKey !== '') {
    if (typeof walletKey !== 'string' || !KEY_PATTERN.test(walletKey.trim()))
      return { ok: false, error: `${CONFIG_PATH}.walletKey is not a private key: expected 0x followed by 64 hex digits. Fix it, or remove it to use BLOCKRUN_WALLET_KEY or the wallet file.` }
    layer.walletKey = walletKey.trim()
  }

  let settings: Settings
  try {
    settings = resolveSettings(layer as SettingsInput, settingsFromEnv(env))
  } catch (error) {
    // resolveSettings names the setting and never echoes the key.
    return { ok: false, error: `imagegen settings (${CONFIG_PATH} or BLOCKRUN_* environment): ${(error as Error).message}` }
  }
  if (settings.walletKey !== undefined && !KEY_PATTERN.test(settings.walletKey.trim()))
    return { ok: false, error: 'BLOCKRUN_WALLET_KEY is not a private key: expected 0x followed by 64 hex digits.' }

  let previewEdge = DEFAULT_PREVIEW_EDGE
  if (config.previewSize !== undefined) {
    const value = Number(config.previewSize)
    if (Number.isInteger(value) && value >= 0) previewEdge = Math.min(value, MAX_PREVIEW_EDGE)
    else warnings.push(`${CONFIG_PATH}.previewSize must be a whole number of pixels (0 for none); using ${DEFAULT_PREVIEW_EDGE}.`)
  }
  return { ok: true, settings, previewEdge, warnings }
}
