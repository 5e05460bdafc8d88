/**
 * Opens the core once, at start: a proxy of ours answering on the configured port, proved by its
 * identity answer (same token, same wallet), is used over HTTP (its wallet, ledger and store);
 * otherwise the pipeline runs in this process with the same home, so the same wallet, budget and
 * ledger apply either way. When something answers on the port but is not used, the core says why
 * (`ImagegenCore.why`), and the front doors pass that on. A proxy of ours that pays under other
 * spending limits than ours is not used either: the limits this process was given are the ones
 * that apply (./limits.ts).
 */
import type { Settings } from '../config.js'
import { inProcessCore } from './in-process.js'
import { limitDifferences } from './limits.js'
import { foreignName, loadProxyCredentials, probeProxy, remoteCore } from './remote.js'
import type { ImagegenCore } from './types.js'

export type { ImagegenCore } from './types.js'

export type OpenCoreOptions = {
  /** Look for a running proxy first (default true). */
  preferProxy?: boolean
}

export async function openCore(settings: Settings, { preferProxy = true }: OpenCoreOptions = {}): Promise<ImagegenCore> {
  if (preferProxy && settings.port !== 0) {
    const base = `http://127.0.0.1:${settings.port}`
    const credentials = await loadProxyCredentials(settings)
    const probe = await probeProxy(base, credentials)
    if (probe.kind === 'ours' && 'token' in credentials) {
      const differences = limitDifferences(settings.policy, probe.limits)
      if (differences.length === 0) return remoteCore(base, credentials)
      // The proxy serves this home's images, so URLs on its port stay valid (portTaken false).
      return inProcessCore(settings, { why: `the imagegen proxy on ${base} is ours but pays under other spending limits (${differences.join('; ')}). Running in this process instead, with this process's limits, over the same wallet, budget and ledger in ${settings.home}.` })
    }
    if (probe.kind === 'foreign') {
      return inProcessCore(settings, { why: `${foreignName(probe)} answers on ${base}, but it is not used: ${probe.reason}. Running in this process instead, with the wallet and budget in ${settings.home}.`, portTaken: true })
    }
  }
  return inProcessCore(settings)
}
