/**
 * How the tools and the image provider reach the core, whichever way OpenClaw runs them:
 *
 * - in the gateway, the plugin's service runs the proxy in this process: calls go to it, so every
 *   front door shares its one wallet, ledger and store;
 * - under `openclaw infer` (no gateway, no service) or when the service is not up, `openCore`
 *   decides once: a compatible proxy on the port (another process) is used over HTTP, otherwise
 *   the pipeline runs in-process with the same home, so the same wallet, policy and ledger apply;
 * - when ClawRouter owns the port in this OpenClaw (./clawrouter.ts), the port is not even asked:
 *   the pipeline runs in-process, and says why.
 *
 * Nothing opens until the first call, so `register` stays cheap in every registration mode.
 */
import type { Settings } from '../../server/config.js'
import type { ImagegenCore } from '../../server/core/index.js'
import type { RunningProxy } from '../../server/http/server.js'
import type { ClawRouterClaim } from './clawrouter.js'
import type { PluginSettings } from './config.js'
import type { PluginLogger } from './host.js'

/**
 * Proxies this process started, by configured port. Module-level because OpenClaw calls
 * `register` several times: the tools from one pass must find the proxy the service of another
 * pass started.
 */
const localProxies = new Map<number, RunningProxy>()

export function publishProxy(port: number, proxy: RunningProxy): void {
  localProxies.set(port, proxy)
}

export function withdrawProxy(port: number, proxy: RunningProxy): void {
  if (localProxies.get(port) === proxy) localProxies.delete(port)
}

export function localProxy(port: number): RunningProxy | undefined {
  return localProxies.get(port)
}

export class CoreAccess {
  private opened: Promise<ImagegenCore> | undefined

  /**
   * `logger` hears why the core runs in-process when something else holds the proxy port.
   * `clawRouter`: ClawRouter is configured in this OpenClaw; on its port nothing is ours to use.
   */
  constructor(
    readonly loaded: PluginSettings,
    private readonly logger?: Pick<PluginLogger, 'warn'>,
    readonly clawRouter?: ClawRouterClaim,
  ) {}

  /** True when ClawRouter owns the configured port: no proxy of ours runs or is looked for there. */
  portIsClawRouters(): boolean {
    return this.loaded.ok && this.clawRouter !== undefined && this.clawRouter.port === this.loaded.settings.port
  }

  /** The settings, or the config error as a thrown Error (what a tool call reports). */
  settings(): Settings {
    if (!this.loaded.ok) throw new Error(this.loaded.error)
    return this.loaded.settings
  }

  /** Runs `task` against the right core (see the module comment). */
  async run<T>(task: (core: ImagegenCore) => Promise<T>): Promise<T> {
    const settings = this.settings()
    const local = localProxy(settings.port)
    if (local) {
      const { loadProxyCredentials, remoteCore } = await import('../../server/core/remote.js')
      const credentials = await loadProxyCredentials(settings)
      if ('token' in credentials) return task(remoteCore(local.url, credentials))
    }
    const opening = (this.opened ??= this.open(settings))
    let core: ImagegenCore
    try {
      core = await opening
    } catch (error) {
      // A failed open (e.g. an unreadable wallet file) is retried on the next call, not cached.
      if (this.opened === opening) this.opened = undefined
      throw error
    }
    try {
      return await task(core)
    } catch (error) {
      // The proxy we were using went away (gateway restart) or no longer proves it is ours: decide again next time.
      const code = (error as { code?: unknown }).code
      if (core.mode === 'remote' && (code === 'proxy_unreachable' || code === 'proxy_not_proven') && this.opened === opening) this.opened = undefined
      throw error
    }
  }

  private async open(settings: Settings): Promise<ImagegenCore> {
    if (this.portIsClawRouters()) {
      const { inProcessCore } = await import('../../server/core/in-process.js')
      // Informational, not a warning: this is the configured arrangement, not something in the way.
      return inProcessCore(settings, {
        why: `ClawRouter (BlockRun's own proxy) owns port ${settings.port} in this OpenClaw (${this.clawRouter!.evidence}); imagegen runs in this process, paying from the wallet in ${settings.home} within its own limits.`,
      })
    }
    const { openCore } = await import('../../server/core/index.js')
    const core = await openCore(settings)
    if (core.why) this.logger?.warn(`imagegen: ${core.why}`)
    return core
  }

  async close(): Promise<void> {
    const opening = this.opened
    this.opened = undefined
    if (opening) await (await opening.catch(() => undefined))?.close()
  }
}
