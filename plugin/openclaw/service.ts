/**
 * The gateway service: keeps the local image proxy up on the configured port while the gateway
 * runs, so the skill's HTTP examples (`http://localhost:8402/v1/images/...`) and every other local
 * client reach the same wallet and ledger as the plugin's tools.
 *
 * When ClawRouter is configured in this OpenClaw and takes the same port, the service does not
 * bind it at all, whichever of the two services the gateway starts first (./clawrouter.ts); the
 * tools run in-process. Otherwise, before binding, it asks who is on the port
 * (server/core/remote.ts probeProxy):
 * - a proxy of ours, proved by its identity answer (our token, our wallet): reuse it;
 * - ClawRouter running outside this OpenClaw (its `/health` says `status: ok` and a wallet): leave
 *   it the port; our tools pay in-process from our own wallet, budget and ledger, never through it;
 * - anything else, including a program that calls itself an imagegen proxy but cannot prove it:
 *   fail with why and what to do, rather than fight over the port. The tools then run in-process.
 */
import type { Settings } from '../../server/config.js'
import type { RunningProxy } from '../../server/http/server.js'
import { leftToClawRouterMessage } from './clawrouter.js'
import { CONFIG_PATH } from './config.js'
import type { PluginLogger, PluginService } from './host.js'
import { publishProxy, withdrawProxy, type CoreAccess } from './runtime.js'

export const SERVICE_ID = 'imagegen-proxy'

export type ProxyOutcome =
  | { kind: 'started'; proxy: RunningProxy }
  | { kind: 'reused'; url: string; wallet: string }
  | { kind: 'left-to-clawrouter'; url: string; wallet: string | undefined }

export function portTakenMessage(port: number, detail: string): string {
  return (
    `Port ${port} is held by another program (${detail}), so the image proxy did not start. ` +
    `Stop that program, or set ${CONFIG_PATH}.port (or BLOCKRUN_PROXY_PORT) to a free port and restart the gateway. ` +
    'Until then the imagegen tools still work, running in the gateway process.'
  )
}

/** Starts the proxy on `settings.port`, or finds a compatible one already there. Throws when the port is taken by something else. */
export async function startOrReuseProxy(settings: Settings, log: PluginLogger): Promise<ProxyOutcome> {
  const url = `http://127.0.0.1:${settings.port}`
  if (settings.port !== 0) {
    const { loadProxyCredentials, probeProxy } = await import('../../server/core/remote.js')
    const probe = await probeProxy(url, await loadProxyCredentials(settings), 1500)
    if (probe.kind === 'ours') return { kind: 'reused', url, wallet: probe.wallet }
    if (probe.kind === 'foreign' && probe.looksLike === 'clawrouter') return { kind: 'left-to-clawrouter', url, wallet: probe.claimedWallet }
    if (probe.kind === 'foreign')
      throw new Error(portTakenMessage(settings.port, probe.looksLike === 'imagegen' ? `it calls itself an imagegen proxy, but ${probe.reason}` : `it answers ${url}/health, but not as an image proxy of ours: ${probe.reason}`))
  }
  const { startProxy } = await import('../../server/http/server.js')
  try {
    const proxy = await startProxy(settings, { log: (line) => log.debug?.(`imagegen: ${line}`) })
    return { kind: 'started', proxy }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new Error(portTakenMessage(settings.port, 'it does not answer HTTP /health'))
    throw error
  }
}

export type ProxyServiceOptions = {
  /** False for services registered outside `full` mode: start() then does nothing. */
  canStart: boolean
}

export function createProxyService(access: CoreAccess, logger: PluginLogger, { canStart }: ProxyServiceOptions): PluginService {
  let running: { port: number; proxy: RunningProxy } | undefined
  return {
    id: SERVICE_ID,
    async start(ctx) {
      const log = ctx?.logger ?? logger
      if (!canStart) {
        log.debug?.('imagegen: proxy service registered outside full mode; not starting it.')
        return
      }
      const loaded = access.loaded
      if (!loaded.ok) {
        // A config mistake must not take the gateway down: register() already logged it; stay idle.
        ctx?.serviceHealth?.reportFailure(new Error(loaded.error))
        return
      }
      for (const warning of loaded.warnings) log.warn(`imagegen: ${warning}`)
      const { settings } = loaded
      if (access.portIsClawRouters()) {
        log.info(leftToClawRouterMessage(access.clawRouter!, settings.home, CONFIG_PATH))
        return
      }
      const outcome = await startOrReuseProxy(settings, log)
      if (outcome.kind === 'started') {
        running = { port: settings.port, proxy: outcome.proxy }
        publishProxy(settings.port, outcome.proxy)
        log.info(`imagegen: image proxy listening on ${outcome.proxy.url} (wallet ${outcome.proxy.service.wallet.address}, upstream ${settings.upstream}).`)
      } else if (outcome.kind === 'reused') {
        log.info(`imagegen: an imagegen proxy already runs on ${outcome.url} (wallet ${outcome.wallet}); reusing it instead of starting another.`)
      } else {
        log.info(
          `imagegen: ClawRouter (BlockRun's own proxy, wallet ${outcome.wallet ?? 'unknown'}) already answers on ${outcome.url}, so the image proxy does not start there; HTTP clients of that port reach ClawRouter. ` +
            `The imagegen tools and image provider pay in-process from the wallet in ${settings.home}${settings.walletKey ? ' (configured key)' : ''}, within imagegen's own limits and ledger, never through ClawRouter. ` +
            `To run the image proxy as well, set ${CONFIG_PATH}.port to another port.`,
        )
      }
    },
    async stop() {
      const current = running
      running = undefined
      if (current) {
        withdrawProxy(current.port, current.proxy)
        await current.proxy.close()
      }
      await access.close()
    },
  }
}
