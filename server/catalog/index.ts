/**
 * The catalog loader: the one place the rest of the code asks which image models exist, what they
 * take and what they cost. It merges the bundled table (`bundled.ts`) with the gateway's live
 * `GET /v1/models` (`live.ts`), read lazily and kept on disk:
 *
 * - nothing is fetched at import, at MCP start or at OpenClaw registration: the first request
 *   that needs the catalog reads it;
 * - a fresh copy (memory or disk, younger than `ttlMs`) costs a request no network round trip;
 * - a stale or missing copy is refreshed, but an ordinary request waits for that at most `waitMs`:
 *   past that it goes on with the last known catalog, else the bundled table, and the refresh
 *   finishes for the next request (bounded by `timeoutMs`);
 * - after a failed read no new attempt is made for `retryMs`, except that a request naming a model
 *   no view knows waits for the read in flight, or for one bounded refresh (at most one per
 *   `minRefreshMs`).
 */
import { startDeadline } from '../deadline.js'
import { cacheFileFor, fetchLiveModels, readSnapshot, writeSnapshot, type LiveSnapshot } from './live.js'
import { listModels, type ModelList } from './listing.js'
import { bundledView as makeBundledView, liveView, type CatalogView } from './view.js'

export { DEFAULT_EDIT_MODEL, DEFAULT_MODEL, DEFAULT_SIZE, BUNDLED_AS_OF } from './bundled.js'
export { QUALITIES, type CatalogSource, type LegacyModel, type ModelEntry, type ModelMatch, type Quality, type Substitution } from './model.js'
export { describeEstimate, estimate, GATEWAY_FEE, listPrice, withMargin, type Estimate } from './pricing.js'
export { ASPECT_RATIO_PATTERN, chooseSize, matchesRatio, normaliseSize, orientationOf, parseRatio, parseSize, ratioLabel, resolutionOf, type GeometryRequest, type Resolution } from './geometry.js'
export { describeSource, listModels, type ListedModel, type ModelList } from './listing.js'
export type { CatalogView } from './view.js'

export type CatalogOptions = {
  /** The gateway's base URL, e.g. https://blockrun.ai/api. */
  upstream: string
  /** Data directory for the copy on disk; without one it lives in memory only. */
  home?: string | undefined
  /** How long a read stays fresh (default 10 minutes). */
  ttlMs?: number
  /** Longest one read may take (default 5 s). */
  timeoutMs?: number
  /** Longest an ordinary request waits for a refresh (default 1.5 s). */
  waitMs?: number
  /** After a failed read, how long before the next attempt (default 1 minute). */
  retryMs?: number
  /** Fewest milliseconds between two refreshes forced by unknown model names (default 30 s). */
  minRefreshMs?: number
}

let bundled: CatalogView | undefined

/** The bundled table alone: for what must be known offline and synchronously (settings, tool descriptions, OpenClaw registration). */
export function bundledCatalog(): CatalogView {
  return (bundled ??= makeBundledView())
}

export class Catalog {
  private readonly upstream: string
  private readonly file: string | undefined
  private readonly ttlMs: number
  private readonly timeoutMs: number
  private readonly waitMs: number
  private readonly retryMs: number
  private readonly minRefreshMs: number
  private readonly stop = new AbortController()
  private snapshot: LiveSnapshot | undefined
  private refreshing: Promise<void> | undefined
  private lastAttempt = Number.NEGATIVE_INFINITY
  private lastDiskRead = Number.NEGATIVE_INFINITY
  private failure: string | undefined
  private cached: { key: string; view: CatalogView } | undefined

  constructor(options: CatalogOptions) {
    this.upstream = options.upstream.replace(/\/+$/, '')
    this.file = options.home ? cacheFileFor(options.home, this.upstream) : undefined
    this.ttlMs = options.ttlMs ?? 10 * 60_000
    this.timeoutMs = options.timeoutMs ?? 5000
    this.waitMs = options.waitMs ?? 1500
    this.retryMs = options.retryMs ?? 60_000
    this.minRefreshMs = options.minRefreshMs ?? 30_000
  }

  /** The view for an ordinary request (see the module comment for when it touches the network). */
  async current(): Promise<CatalogView> {
    if (!this.fresh()) await this.readDisk()
    if (!this.fresh()) {
      const refresh = this.refresh(false)
      if (refresh) await waitAtMost(refresh, this.waitMs)
    }
    return this.view()
  }

  /** The view for a request naming `name`: when no view knows the name, one bounded refresh first. */
  async lookup(name: string): Promise<CatalogView> {
    const view = await this.current()
    if (view.find(name)) return view
    if (this.refreshing) await this.refreshing
    else if (Date.now() - this.lastAttempt >= this.minRefreshMs) await this.refresh(true)
    return this.view()
  }

  /** The body of `GET /v1/models`. */
  async list(): Promise<ModelList> {
    return listModels(await this.current())
  }

  /** Stops a read in flight (it would otherwise keep a one-shot command alive for up to `timeoutMs`). */
  close(): void {
    this.stop.abort(new DOMException('The catalog is closing.', 'AbortError'))
  }

  private fresh(): boolean {
    return this.snapshot !== undefined && Date.now() - this.snapshot.fetchedAt < this.ttlMs
  }

  /** Takes the copy on disk when it is newer (another process may have refreshed it); at most once a second. */
  private async readDisk(): Promise<void> {
    if (!this.file || Date.now() - this.lastDiskRead < 1000) return
    this.lastDiskRead = Date.now()
    const stored = await readSnapshot(this.file, this.upstream)
    if (stored && (!this.snapshot || stored.fetchedAt > this.snapshot.fetchedAt)) this.snapshot = stored
  }

  /** Starts a read (or joins the one in flight); undefined when a recent failure says not to try yet. */
  private refresh(forced: boolean): Promise<void> | undefined {
    if (this.refreshing) return this.refreshing
    if (this.stop.signal.aborted) return undefined
    if (!forced && this.failure !== undefined && Date.now() - this.lastAttempt < this.retryMs) return undefined
    this.lastAttempt = Date.now()
    const deadline = startDeadline(this.timeoutMs, this.stop.signal)
    this.refreshing = fetchLiveModels(this.upstream, deadline.signal)
      .then(async (snapshot) => {
        this.snapshot = snapshot
        this.failure = undefined
        if (this.file) await writeSnapshot(this.file, snapshot).catch(() => {})
      })
      .catch((error: unknown) => {
        this.failure = error instanceof Error ? error.message : String(error)
      })
      .finally(() => {
        deadline.clear()
        this.refreshing = undefined
      })
    return this.refreshing
  }

  private view(): CatalogView {
    const snapshot = this.snapshot
    const stale = snapshot !== undefined && !this.fresh()
    const key = snapshot ? `${snapshot.fetchedAt}/${stale}` : `bundled/${this.failure ?? ''}`
    if (this.cached?.key !== key) {
      const view = snapshot
        ? liveView(snapshot, stale)
        : makeBundledView(this.failure === undefined ? 'the live catalog has not been read yet' : `the live catalog could not be read: ${this.failure}`)
      this.cached = { key, view }
    }
    return this.cached.view
  }
}

/** Waits for `work`, or `ms`, whichever comes first (the work goes on either way). */
async function waitAtMost(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  await Promise.race([work, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))])
  clearTimeout(timer)
}
