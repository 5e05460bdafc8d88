/**
 * What the gallery answers for one image (`GET /v1/gallery`, `/v1/gallery/items/<file>`, the MCP
 * resources): the picture's request and its payment as the ledger has it now. Amounts are base
 * units (strings) and dollars, as in receipts.
 */
import { formatUsd } from '../money.js'
import type { PaymentRecord } from '../payment/ledger.js'
import { findNetwork } from '../payment/networks.js'
import type { ReceiptView } from '../receipts/receipt.js'
import type { ReceiptLine } from '../receipts/receipt-index.js'
import { imageTypeForExtension } from '../store/sniff.js'
import type { DayKey } from './days.js'
import { explorerLink } from './explorer.js'

/** Where an image came from: our index, ClawRouter (its names, in the shared folder), or a name of ours the index does not have. */
export type GallerySource = 'ours' | 'clawrouter' | 'unindexed'

export type GalleryCost = {
  /** What the whole request paid (all `n` images), base units and dollars. */
  amount: string
  usd: string
  network: string
  network_label: string
  testnet: boolean
  /** The ledger's status now: settled, unknown (answer lost after paying), signed... */
  status: string
  transaction: string | null
  /** The transaction on the chain's explorer; null on test networks (see explorer.ts). */
  explorer: { name: string; url: string } | null
}

export type GalleryItem = {
  file: string
  url: string
  thumbnail_url: string
  source: GallerySource
  /** When the file was stored (its name's clock), ISO 8601, and its day in the asked time zone. */
  created: string
  day: DayKey
  mime_type: string
  /** The rest is known only for images of ours (null otherwise). */
  kind: 'generate' | 'edit' | null
  prompt: string | null
  revised_prompt: string | null
  model: string | null
  requested_model: string | null
  size: string | null
  /** This image is number `index` (from 1) of the `n` the request made. */
  n: number | null
  index: number | null
  bytes: number | null
  receipt: string | null
  cost: GalleryCost | null
  /** The index has it, but its file is gone from the folder (deleted by hand). */
  missing: boolean
}

/** One image with everything its receipt says: the file on disk, its hash, notes, every authorization. */
export type GalleryDetail = GalleryItem & { path: string; sha256: string | null; notes: string[]; receipt_view: ReceiptView | null }

export type Urls = { image: (file: string) => string; thumbnail: (file: string) => string }

export type ItemFacts = { file: string; time: number; day: DayKey; source: GallerySource; line?: ReceiptLine | undefined; output?: number | undefined; missing: boolean }

export function galleryItem({ file, time, day, source, line, output = 0, missing }: ItemFacts, payment: (id: string) => PaymentRecord | undefined, urls: Urls): GalleryItem {
  const image = line?.outputs[output]
  return {
    file,
    url: urls.image(file),
    thumbnail_url: urls.thumbnail(file),
    source,
    created: new Date(time).toISOString(),
    day,
    mime_type: image?.mimeType ?? imageTypeForExtension(file.slice(file.lastIndexOf('.') + 1))?.mime ?? 'application/octet-stream',
    kind: line ? (line.route.endsWith('/generations') ? 'generate' : 'edit') : null,
    prompt: line?.prompt ?? null,
    revised_prompt: image?.revisedPrompt ?? null,
    model: line?.model ?? null,
    requested_model: line?.requestedModel ?? null,
    size: line?.size ?? null,
    n: line?.n ?? null,
    index: line ? output + 1 : null,
    bytes: image?.bytes ?? null,
    receipt: line?.id ?? null,
    cost: line?.payment ? costOf(line.payment, payment(line.payment.id)) : null,
    missing,
  }
}

function costOf(paid: NonNullable<ReceiptLine['payment']>, record: PaymentRecord | undefined): GalleryCost {
  const network = findNetwork(paid.network)
  const transaction = record?.transaction ?? paid.transaction ?? null
  return {
    amount: paid.amount,
    usd: formatUsd(BigInt(paid.amount)),
    network: paid.network,
    network_label: network?.label ?? paid.network,
    testnet: network?.testnet ?? false,
    status: record?.status ?? paid.status,
    transaction,
    explorer: explorerLink(paid.network, transaction ?? undefined) ?? null,
  }
}
