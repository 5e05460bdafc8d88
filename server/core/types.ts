/**
 * The one small interface the front doors (CLI, MCP server, OpenClaw plugin) use. Two
 * implementations: in-process (the ImageService itself) and remote (HTTP to a proxy that already
 * runs on the port). Which one is decided once, at start (`openCore`).
 */
import type { ModelList } from '../catalog/index.js'
import type { GalleryPage, GalleryQuery } from '../gallery/index.js'
import type { GalleryDetail } from '../gallery/view.js'
import type { Quote } from '../quote.js'
import type { ReceiptView } from '../receipts/receipt.js'
import type { CallOptions, ImageResult } from '../service.js'
import type { UsageReport } from '../payment/usage.js'
import type { WalletStatus } from '../wallet/status.js'

export type ImagegenCore = {
  readonly mode: 'in-process' | 'remote'
  /** Why this core runs in-process although something answers on the proxy port (for the user). */
  readonly why?: string
  /** In-process results carry file:// URLs: no proxy of ours can serve them on the port (port 0, or another program holds it). */
  readonly filesOnly?: boolean
  generate(input: unknown, options?: CallOptions): Promise<ImageResult>
  edit(input: unknown, options?: CallOptions): Promise<ImageResult>
  /** What a generation (or, with `image`, an edit) would cost, with nothing signed. */
  quote(input: unknown, options?: Pick<CallOptions, 'signal'>): Promise<Quote>
  /** One receipt, or receipts newest first. */
  receipt(id: string): Promise<ReceiptView | undefined>
  receipts(page?: { before?: string | undefined; limit?: number }): Promise<{ data: ReceiptView[]; has_more: boolean }>
  /** Every image in the store, newest first, a page at a time (the gallery's list); one image with its receipt. */
  gallery(query?: GalleryQuery): Promise<GalleryPage>
  galleryItem(file: string): Promise<GalleryDetail | undefined>
  /** The image models on offer, and from which catalog (live or bundled). */
  models(): Promise<ModelList>
  wallet(): Promise<WalletStatus>
  usage(days?: number): Promise<UsageReport>
  close(): Promise<void>
}
