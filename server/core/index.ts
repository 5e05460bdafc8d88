/**
 * Opens the core once, at start: a compatible proxy already answering on the configured port is
 * used over HTTP (its wallet, ledger and store); otherwise the pipeline runs in this process with
 * the same home, so the same wallet, budget and ledger apply either way.
 */
import type { Settings } from '../config.js'
import { inProcessCore } from './in-process.js'
import { probeProxy, remoteCore } from './remote.js'
import type { ImagegenCore } from './types.js'

export type { ImagegenCore } from './types.js'

export type OpenCoreOptions = {
  /** Look for a running proxy first (default true). */
  preferProxy?: boolean
}

export async function openCore(settings: Settings, { preferProxy = true }: OpenCoreOptions = {}): Promise<ImagegenCore> {
  if (preferProxy && settings.port !== 0) {
    const base = `http://127.0.0.1:${settings.port}`
    const probe = await probeProxy(base)
    if (probe?.ours) return remoteCore(base)
  }
  return inProcessCore(settings)
}
