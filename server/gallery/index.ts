/**
 * The gallery: every image in the store, newest first, filtered by model, day, source or words
 * of the prompt, a page at a time.
 *
 * What we made comes from the receipt index (prompt, model, size, cost, time, transaction), never
 * from the image files: no page reads an image. The index is read whole once per process, then
 * only the lines appended since. The images folder is shared with ClawRouter; it is listed again
 * only when its modification time changes, and a file the index does not have is shown as made
 * elsewhere: ClawRouter's by its own name pattern, or a name of ours the index lacks (an older
 * version, a lost index).
 *
 * Every image is ordered by the clock in its name (ours and ClawRouter's both start with the
 * writer's `Date.now()`), then by name, so a page cursor is just a file name and stays valid when
 * files come and go.
 */
import { readdir, stat } from 'node:fs/promises'
import { ImagegenError, invalidRequest } from '../errors.js'
import type { Ledger } from '../payment/ledger.js'
import { receiptView } from '../receipts/receipt.js'
import type { ReceiptIndex, ReceiptLine } from '../receipts/receipt-index.js'
import { CLAWROUTER_IMAGE_NAME_PATTERN, IMAGE_NAME_PATTERN, nameTime, type ImageStore } from '../store/images.js'
import { dayKey, dayOf, timeZoneOf, type DayKey } from './days.js'
import { galleryItem, type GalleryDetail, type GalleryItem, type GallerySource, type Urls } from './view.js'

export type GalleryQuery = {
  /** The file name of the last image of the previous page. */
  before?: string | undefined
  limit?: number | undefined
  model?: string | undefined
  /** A day (YYYY-MM-DD) in `tz`. */
  day?: string | undefined
  /** IANA time zone of the days (default UTC). */
  tz?: string | undefined
  /** Words the prompt must contain (case-insensitive). */
  q?: string | undefined
  /** `ours`: made here; `elsewhere`: ClawRouter's and unindexed files; default all. */
  source?: 'all' | 'ours' | 'elsewhere' | undefined
  /** Add the filters' choices (models, days, sources with counts) to the page. */
  facets?: boolean | undefined
}

export type GalleryFacets = {
  models: Array<{ model: string; count: number }>
  days: Array<{ day: DayKey; count: number }>
  sources: { ours: number; elsewhere: number }
  total: number
}

export type GalleryPage = {
  object: 'list'
  data: GalleryItem[]
  has_more: boolean
  /** The `before` of the next page. */
  next: string | null
  /** Images matching the filters, in all pages. */
  total: number
  tz: string
  facets?: GalleryFacets
}

export const MAX_PAGE = 200

type Entry = {
  file: string
  time: number
  source: GallerySource
  line?: ReceiptLine
  output?: number
  /** The prompt and revised prompt in lower case, for `q`. */
  text?: string
  /** The entry's day in the last zone asked (one viewer at a time is the common case). */
  day?: { tz: string; key: DayKey }
}

export class Gallery {
  /** Every image, newest first. */
  private sorted: Entry[] = []
  private readonly ours: Entry[] = []
  private readonly known = new Set<string>()
  private linesSeen = 0
  private listing: { mtimeMs: number; names: Set<string> } | undefined
  private version = 0
  private facetCache: { version: number; tz: string; facets: GalleryFacets } | undefined
  private refreshing: Promise<void> | undefined

  constructor(
    private readonly parts: { receipts: ReceiptIndex; store: ImageStore; ledger: Ledger; urls: Urls },
  ) {}

  async page(query: GalleryQuery = {}): Promise<GalleryPage> {
    const tz = timeZoneOf(query.tz)
    const day = dayOf(query.day)
    const limit = query.limit ?? 60
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) throw invalidRequest(`limit must be a whole number from 1 to ${MAX_PAGE}.`, 'limit')
    if (query.before !== undefined && !isStoredName(query.before)) throw invalidRequest('before must be the file name of an image of the previous page.', 'before')
    const source = query.source ?? 'all'
    if (!['all', 'ours', 'elsewhere'].includes(source)) throw invalidRequest('source must be all, ours or elsewhere.', 'source')
    const words = (query.q ?? '').toLowerCase().trim()
    await this.refresh()

    const matches = (entry: Entry) =>
      (source === 'all' || (source === 'ours') === (entry.source === 'ours')) &&
      (query.model === undefined || query.model === '' || entry.line?.model === query.model) &&
      (day === undefined || this.dayOf(entry, tz) === day) &&
      (words === '' || (entry.text ?? '').includes(words))
    const start = query.before === undefined ? 0 : this.after(query.before)
    const picked: Entry[] = []
    let total = 0
    let hasMore = false
    for (let i = 0; i < this.sorted.length; i++) {
      const entry = this.sorted[i]!
      if (!matches(entry)) continue
      total++
      if (i < start) continue
      if (picked.length < limit) picked.push(entry)
      else hasMore = true
    }
    const payment = (id: string) => this.parts.ledger.payment(id)
    const data = picked.map((entry) => galleryItem({ ...entry, day: this.dayOf(entry, tz), missing: this.isMissing(entry) }, payment, this.parts.urls))
    return {
      object: 'list',
      data,
      has_more: hasMore,
      next: hasMore ? picked.at(-1)!.file : null,
      total,
      tz,
      ...(query.facets ? { facets: this.facets(tz) } : {}),
    }
  }

  /** One image with its whole receipt (ledger joined), or undefined when the store has no such image. */
  async item(file: string, tz?: string): Promise<GalleryDetail | undefined> {
    const zone = timeZoneOf(tz)
    if (!isStoredName(file)) return undefined
    await this.refresh()
    const at = this.sorted[this.after(file) - 1]
    if (!at || at.file !== file) return undefined
    const { ledger, urls, store } = this.parts
    const item = galleryItem({ ...at, day: this.dayOf(at, zone), missing: this.isMissing(at) }, (id) => ledger.payment(id), urls)
    const output = at.line?.outputs[at.output ?? 0]
    return {
      ...item,
      path: output?.path ?? `${store.dir}/${file}`,
      sha256: output?.sha256 ?? null,
      notes: at.line?.notes ?? [],
      receipt_view: at.line ? receiptView(at.line, await ledger.payments(), urls.image) : null,
    }
  }

  /** An image of ours whose file is no longer in the folder (deleted by hand). */
  private isMissing(entry: Entry): boolean {
    return entry.source === 'ours' && !this.listing?.names.has(entry.file)
  }

  /** The choices of the filters, with counts: models (ours), days (in `tz`), sources. */
  private facets(tz: string): GalleryFacets {
    if (this.facetCache?.version === this.version && this.facetCache.tz === tz) return this.facetCache.facets
    const models = new Map<string, number>()
    const days = new Map<DayKey, number>()
    let ours = 0
    for (const entry of this.sorted) {
      if (entry.line) models.set(entry.line.model, (models.get(entry.line.model) ?? 0) + 1)
      if (entry.source === 'ours') ours++
      const day = this.dayOf(entry, tz)
      days.set(day, (days.get(day) ?? 0) + 1)
    }
    const facets: GalleryFacets = {
      models: [...models].sort(([a, x], [b, y]) => y - x || a.localeCompare(b)).map(([model, count]) => ({ model, count })),
      days: [...days].sort(([a], [b]) => b.localeCompare(a)).map(([day, count]) => ({ day, count })),
      sources: { ours, elsewhere: this.sorted.length - ours },
      total: this.sorted.length,
    }
    this.facetCache = { version: this.version, tz, facets }
    return facets
  }

  private dayOf(entry: Entry, tz: string): DayKey {
    if (entry.day?.tz !== tz) entry.day = { tz, key: dayKey(tz, entry.time) }
    return entry.day.key
  }

  /** The index of the first entry older than the image named `file` (which need not exist any more). */
  private after(file: string): number {
    const time = nameTime(file)
    let low = 0
    let high = this.sorted.length
    while (low < high) {
      const mid = (low + high) >>> 1
      if (newerOrSame(this.sorted[mid]!, time, file)) low = mid + 1
      else high = mid
    }
    return low
  }

  /** Takes in new receipts and a changed folder; one refresh at a time. */
  private refresh(): Promise<void> {
    this.refreshing ??= this.doRefresh().finally(() => (this.refreshing = undefined))
    return this.refreshing
  }

  private async doRefresh(): Promise<void> {
    let changed = false
    const lines = this.parts.receipts.all()
    for (; this.linesSeen < lines.length; this.linesSeen++) {
      const line = lines[this.linesSeen]!
      const text = [line.prompt, ...line.outputs.map((o) => o.revisedPrompt ?? '')].join('\n').toLowerCase()
      line.outputs.forEach((output, index) => {
        if (this.known.has(output.file) || !IMAGE_NAME_PATTERN.test(output.file)) return
        this.known.add(output.file)
        this.ours.push({ file: output.file, time: nameTime(output.file), source: 'ours', line, output: index, text })
        changed = true
      })
    }
    const dir = this.parts.store.dir
    const mtimeMs = (await stat(dir).catch(() => undefined))?.mtimeMs ?? -1
    if (this.listing?.mtimeMs !== mtimeMs) {
      const names = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return []
        throw new ImagegenError({ status: 500, type: 'server_error', code: 'images_unreadable', message: `The images folder ${dir} cannot be listed: ${error.message}`, cause: error })
      })
      this.listing = { mtimeMs, names: new Set(names.filter(isStoredName)) }
      changed = true
    }
    if (!changed) return
    const elsewhere: Entry[] = []
    for (const file of this.listing.names) {
      if (this.known.has(file)) continue
      elsewhere.push({ file, time: nameTime(file), source: IMAGE_NAME_PATTERN.test(file) ? 'unindexed' : 'clawrouter' })
    }
    this.sorted = [...this.ours, ...elsewhere].sort((a, b) => b.time - a.time || (a.file < b.file ? 1 : a.file > b.file ? -1 : 0))
    this.version++
  }
}

/** A name the store wrote, or ClawRouter did: nothing else is ever listed or looked up. */
export function isStoredName(file: string): boolean {
  return IMAGE_NAME_PATTERN.test(file) || CLAWROUTER_IMAGE_NAME_PATTERN.test(file)
}

/** True when `entry` sorts before (is newer than) or at the image (`time`, `file`). */
function newerOrSame(entry: Entry, time: number, file: string): boolean {
  return entry.time > time || (entry.time === time && entry.file >= file)
}
