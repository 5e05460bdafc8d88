/**
 * ClawRouter in the same OpenClaw: BlockRun's own plugin (id `clawrouter`) runs its chat proxy on
 * 127.0.0.1:8402 (or BLOCKRUN_PROXY_PORT), the port our proxy defaults to as well. It cannot share:
 *
 * - its OpenClaw service skips starting when anything already listens on the port, and its proxy,
 *   finding the port held by something that is not one of its own, retries five times and dies
 *   with EADDRINUSE (ClawRouter src/index.ts `startProxyAfterPortProbe`, src/proxy.ts `tryListen`);
 * - OpenClaw sends the chat traffic of ClawRouter's `blockrun` model provider to that port
 *   (ClawRouter writes `models.providers.blockrun.baseUrl = http://127.0.0.1:<port>/v1` into the
 *   OpenClaw config), whatever answers there;
 * - plugin services start in no fixed order.
 *
 * So when ClawRouter is configured in this OpenClaw, the port is its own, whichever service would
 * start first: our service does not bind it, and our tools and image provider run our pipeline in
 * the gateway process, with our wallet, budget and ledger (never ClawRouter's wallet).
 */

/** ClawRouter's plugin id (its openclaw.plugin.json) and its model provider id. */
export const CLAWROUTER_PLUGIN_ID = 'clawrouter'
const CLAWROUTER_PROVIDER_ID = 'blockrun'
/** ClawRouter's default port (src/config.ts DEFAULT_PORT). */
const CLAWROUTER_DEFAULT_PORT = 8402

export type ClawRouterClaim = {
  /** The loopback port ClawRouter takes. */
  port: number
  /** What in the OpenClaw config says ClawRouter is there, for messages. */
  evidence: string
}

type Config = {
  plugins?: { enabled?: unknown; allow?: unknown; deny?: unknown; entries?: Record<string, { enabled?: unknown } | undefined> }
  models?: { providers?: Record<string, { baseUrl?: unknown } | undefined> }
}

/**
 * Whether the OpenClaw config (`api.config`, or a service's `ctx.config`) has ClawRouter in it, and
 * on which port it runs: the port of its provider's base URL, else ClawRouter's own rule
 * (BLOCKRUN_PROXY_PORT, else 8402). Undefined when ClawRouter is neither installed and enabled nor
 * pointing OpenClaw's chat traffic at a local port.
 */
export function clawRouterInConfig(config: unknown, env: NodeJS.ProcessEnv = process.env): ClawRouterClaim | undefined {
  if (!config || typeof config !== 'object') return undefined
  const { plugins, models } = config as Config
  const evidence: string[] = []
  if (pluginActive(plugins)) evidence.push(`plugins.entries.${CLAWROUTER_PLUGIN_ID}`)
  const providerPort = loopbackPort(models?.providers?.[CLAWROUTER_PROVIDER_ID]?.baseUrl)
  if (providerPort !== undefined) evidence.push(`models.providers.${CLAWROUTER_PROVIDER_ID}.baseUrl`)
  if (evidence.length === 0) return undefined
  return { port: providerPort ?? clawRouterDefaultPort(env), evidence: evidence.join(' and ') }
}

/** Installed (OpenClaw writes an entry on install) and not switched off by the entry, a deny or an allow list. */
function pluginActive(plugins: Config['plugins']): boolean {
  const entry = plugins?.entries?.[CLAWROUTER_PLUGIN_ID]
  if (!entry || entry.enabled === false || plugins?.enabled === false) return false
  if (Array.isArray(plugins?.deny) && plugins.deny.includes(CLAWROUTER_PLUGIN_ID)) return false
  if (Array.isArray(plugins?.allow) && plugins.allow.length > 0 && !plugins.allow.includes(CLAWROUTER_PLUGIN_ID)) return false
  return true
}

/** The port of a base URL on this machine's loopback, else undefined. */
function loopbackPort(baseUrl: unknown): number | undefined {
  if (typeof baseUrl !== 'string') return undefined
  let url: URL
  try {
    url = new URL(baseUrl)
  } catch {
    return undefined
  }
  if (url.protocol !== 'http:' || !['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) return undefined
  return url.port ? Number(url.port) : 80
}

/** ClawRouter's own port rule (src/config.ts PROXY_PORT). */
function clawRouterDefaultPort(env: NodeJS.ProcessEnv): number {
  const parsed = Number.parseInt(env.BLOCKRUN_PROXY_PORT ?? '', 10)
  return Number.isFinite(parsed) && parsed > 0 && parsed < 65536 ? parsed : CLAWROUTER_DEFAULT_PORT
}

/** What the service logs when it leaves the port to ClawRouter. */
export function leftToClawRouterMessage(claim: ClawRouterClaim, home: string, configPath: string): string {
  return (
    `imagegen: ClawRouter (BlockRun's own proxy) is configured in this OpenClaw (${claim.evidence}) and takes port ${claim.port}, ` +
    `so the image proxy does not start there. The imagegen tools and image provider run in the gateway, paying from the wallet in ${home} ` +
    `within imagegen's own limits and ledger; HTTP clients of port ${claim.port} reach ClawRouter. ` +
    `To run the image proxy as well, set ${configPath}.port to another port.`
  )
}
