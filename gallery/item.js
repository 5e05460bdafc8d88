// @ts-check
/**
 * One image as the gallery's API gives it (GET /v1/gallery), and the parts of it that both the
 * grid and the viewer show: where it was made, its cost, its transaction.
 */
import { el, shorten } from './dom.js'

/**
 * @typedef {{ amount: string, usd: string, network: string, network_label: string, testnet: boolean, status: string, transaction: string | null, explorer: { name: string, url: string } | null }} Cost
 * @typedef {{ file: string, url: string, thumbnail_url: string, source: 'ours' | 'clawrouter' | 'unindexed', created: string, day: string, mime_type: string, kind: string | null, prompt: string | null, revised_prompt: string | null, model: string | null, requested_model: string | null, size: string | null, n: number | null, index: number | null, bytes: number | null, receipt: string | null, cost: Cost | null, missing: boolean }} Item
 * @typedef {Item & { path: string, sha256: string | null, notes: string[], receipt_view: any }} Detail
 * @typedef {{ models: Array<{ model: string, count: number }>, days: Array<{ day: string, count: number }>, sources: { ours: number, elsewhere: number }, total: number }} Facets
 */

/** What an image not in our index is called. */
export const ELSEWHERE = { clawrouter: 'Made elsewhere (ClawRouter)', unindexed: 'Made elsewhere (not in this index)' }

/**
 * The cost as a label: dollars, for how many images, and the payment's state when not settled.
 * @param {Item} item
 */
export function costLabel(item) {
  if (!item.cost) return el('span', { class: 'cost none' }, ['not paid'])
  const shared = item.n && item.n > 1 ? ` for ${item.n}` : ''
  return el('span', { class: `cost${item.cost.status === 'settled' ? '' : ' pending'}`, 'data-amount': item.cost.amount, title: `${item.cost.amount} base units of USDC on ${item.cost.network_label}` }, [
    `${item.cost.usd}${shared}`,
    item.cost.status === 'settled' ? '' : ` (${item.cost.status})`,
  ])
}

/**
 * The transaction, linked to the chain's explorer on a mainnet.
 * @param {Cost} cost
 */
export function transaction(cost) {
  if (!cost.transaction) return el('p', { class: 'tx muted' }, [`${cost.network_label}: no transaction recorded`])
  const text = `tx ${shorten(cost.transaction)}`
  return el('p', { class: 'tx' }, [
    cost.explorer
      ? el('a', { href: cost.explorer.url, target: '_blank', rel: 'noopener noreferrer', title: `${cost.transaction} on ${cost.explorer.name}` }, [text])
      : el('span', { title: `${cost.transaction} (${cost.network_label}${cost.testnet ? ', a test network: no explorer' : ''})` }, [text]),
    el('span', { class: 'muted' }, [` · ${cost.network_label}`]),
  ])
}
