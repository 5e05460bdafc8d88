/**
 * The index of what we made: `$BLOCKRUN_HOME/receipts.jsonl`, one line per result, appended (and
 * fsync'd) when the result is stored, by whichever process made it. Each line holds the request
 * (prompt and its hash, model, settings applied), the payment as it stood (the ledger has its
 * later story, joined at read time: receipt.ts) and the output files with their SHA-256.
 *
 * It is the one record of images made: receipts (`GET /v1/receipts/{id}`, `imagegen receipts`)
 * read it, and so can a gallery (newest first, in pages, by time or model). Append-only: nothing
 * is rewritten, so a crash loses at most a line being written, which readers skip.
 */
import { join } from 'node:path'
import { Journal } from '../store/journal.js'

export const RECEIPTS_FILE = 'receipts.jsonl'

/** One result, as written. Amounts are decimal strings of base units; times epoch ms. */
export type ReceiptLine = {
  kind: 'receipt'
  v: 1
  /** The receipt id: the request id the ledger's payments carry (`requestId`). */
  id: string
  /** When the request started and when its result was stored. */
  started: number
  t: number
  route: string
  /** The prompt stays here, in the local index; files and receipts carry only its hash. */
  prompt: string
  promptSha256: string
  model: string
  requestedModel: string
  size: string
  n: number
  /** The `quality` sent upstream, when one was. */
  quality?: string
  /** Edits: how many input images, and whether a mask. */
  inputs?: number
  mask?: boolean
  maxPrice?: string
  idempotencyKey?: string
  /** What ran differently from what was asked (substitutions, sizes, settings not applied). */
  notes: string[]
  estimate?: string
  payment?: {
    /** The ledger's payment id. */
    id: string
    amount: string
    network: string
    asset: string
    payTo: string
    payer: string
    transaction?: string
    status: string
  }
  outputs: Array<{ file: string; path: string; bytes: number; mimeType: string; sha256: string; revisedPrompt?: string }>
}

export type ReceiptPage = { items: ReceiptLine[]; more: boolean }

export class ReceiptIndex {
  private readonly journal: Journal<ReceiptLine>
  /** Every receipt read so far, in file order, and by id. */
  private readonly lines: ReceiptLine[] = []
  private readonly byId = new Map<string, ReceiptLine>()

  constructor(home: string) {
    this.journal = new Journal(join(home, RECEIPTS_FILE))
  }

  get path(): string {
    return this.journal.path
  }

  /** Adds a receipt; resolves once it is on disk. */
  append(line: ReceiptLine): Promise<void> {
    return this.journal.append(line, { sync: true })
  }

  find(id: string): ReceiptLine | undefined {
    this.catchUp()
    return this.byId.get(id)
  }

  /** Every receipt, in file order (oldest first), as far as any process has appended: the gallery's source. */
  all(): readonly ReceiptLine[] {
    this.catchUp()
    return this.lines
  }

  /**
   * Newest first, `limit` at a time; `before` is the id of the last receipt of the previous page.
   * `filter` narrows (a model, a time range) before paging.
   */
  page({ before, limit = 50, filter }: { before?: string | undefined; limit?: number; filter?: (line: ReceiptLine) => boolean } = {}): ReceiptPage {
    this.catchUp()
    let end = this.lines.length
    if (before !== undefined) {
      const at = this.lines.findLastIndex((line) => line.id === before)
      end = at < 0 ? 0 : at
    }
    const items: ReceiptLine[] = []
    for (let i = end - 1; i >= 0; i--) {
      const line = this.lines[i]!
      if (filter && !filter(line)) continue
      if (items.length === limit) return { items, more: true }
      items.push(line)
    }
    return { items, more: false }
  }

  close(): Promise<void> {
    return this.journal.close()
  }

  private catchUp(): void {
    for (const line of this.journal.read()) {
      if (line.kind !== 'receipt' || typeof line.id !== 'string' || this.byId.has(line.id) || !Array.isArray(line.outputs)) continue
      this.lines.push(line)
      this.byId.set(line.id, line)
    }
  }
}
