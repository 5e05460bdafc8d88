// @ts-check
/**
 * The viewer: one image at full size with its facts and receipt (`GET /v1/gallery/items/<file>`),
 * "use as edit input" (a ready edit request, copied), and ← / → through the list.
 */
import { api, byId, el, formatTime, shellQuote, TIME_ZONE } from './dom.js'
import { ELSEWHERE, transaction } from './item.js'

/** @typedef {import('./item.js').Item} Item */
/** @typedef {import('./item.js').Detail} Detail */

/**
 * What the viewer needs of the list: its images so far, and how to load more.
 * @type {{ items: () => Item[], hasMore: () => boolean, loadMore: () => Promise<void> }}
 */
const list = { items: () => [], hasMore: () => false, loadMore: async () => {} }

/** @param {typeof list} source */
export function viewList(source) {
  Object.assign(list, source)
}

const viewer = /** @type {HTMLDialogElement} */ (byId('viewer'))
const viewerImage = /** @type {HTMLImageElement} */ (byId('v-img'))
const editForm = /** @type {HTMLSelectElement} */ (byId('v-edit-form'))
const editText = byId('v-edit-text')
/** @type {{ position: number, detail: Detail | undefined }} */
const shown = { position: -1, detail: undefined }

/** @param {number} position */
export async function openViewer(position) {
  const item = list.items()[position]
  if (!item) return
  shown.position = position
  shown.detail = undefined
  viewerImage.src = `/images/${encodeURIComponent(item.file)}`
  viewerImage.alt = item.prompt ?? item.file
  byId('v-title').textContent = item.source === 'ours' ? `${item.model} · ${item.size}` : ELSEWHERE[item.source]
  byId('v-prompt').textContent = item.prompt ?? 'This image is in the images folder, but not in this proxy\'s index: its prompt and cost are not known here.'
  const open = /** @type {HTMLAnchorElement} */ (byId('v-open'))
  open.href = `/images/${encodeURIComponent(item.file)}`
  editText.hidden = true
  byId('v-copied').textContent = ''
  fillFacts(item)
  byId('v-receipt').replaceChildren()
  const previous = /** @type {HTMLButtonElement} */ (byId('v-prev'))
  const next = /** @type {HTMLButtonElement} */ (byId('v-next'))
  previous.disabled = position === 0
  next.disabled = position === list.items().length - 1 && !list.hasMore()
  if (!viewer.open) viewer.showModal()
  history.replaceState(null, '', `${location.pathname}${location.search}#${item.file}`)
  try {
    const detail = /** @type {Detail} */ (await api(`/v1/gallery/items/${encodeURIComponent(item.file)}`, { tz: TIME_ZONE }))
    if (shown.position !== position) return
    shown.detail = detail
    fillReceipt(detail)
  } catch (error) {
    byId('v-receipt').replaceChildren(el('p', { class: 'error' }, [error instanceof Error ? error.message : String(error)]))
  }
}

/**
 * @param {HTMLElement} list
 * @param {Array<[string, Node | string | null | undefined]>} rows
 */
function facts(list, rows) {
  list.replaceChildren(...rows.filter(([, value]) => value !== null && value !== undefined && value !== '').flatMap(([name, value]) => [el('dt', {}, [name]), el('dd', {}, [/** @type {Node | string} */ (value)])]))
}

/** @param {Item} item */
function fillFacts(item) {
  const cost = item.cost
  facts(byId('v-facts'), [
    ['Made', el('time', { datetime: item.created }, [formatTime(item.created)])],
    ['Model', item.model && item.requested_model && item.requested_model !== item.model ? `${item.model} (asked: ${item.requested_model})` : item.model],
    ['Size', item.size],
    ['Kind', item.kind === 'edit' ? 'an edit' : item.kind === 'generate' ? 'generated' : null],
    ['Images', item.n && item.n > 1 ? `${item.index} of ${item.n} from one request` : null],
    ['Cost', cost ? `${cost.usd} USDC (${cost.amount} base units)${item.n && item.n > 1 ? ` for the ${item.n} images` : ''}` : item.source === 'ours' ? 'not paid' : null],
    ['Paid on', cost ? `${cost.network_label}${cost.testnet ? ' (test network)' : ''}` : null],
    ['Status', cost ? cost.status : null],
    ['Transaction', cost ? transaction(cost) : null],
    ['Revised prompt', item.revised_prompt],
    ['File', item.file],
  ])
}

/** @param {Detail} detail */
function fillReceipt(detail) {
  const payment = detail.receipt_view?.payment
  facts(byId('v-receipt'), [
    ['Receipt', detail.receipt],
    ['Path', detail.path],
    ['SHA-256', detail.sha256],
    ['Payer', payment?.payer],
    ['Payee', payment?.pay_to],
    ['Asset', payment?.asset],
    ['Authorizations', payment?.authorizations?.length > 1 ? payment.authorizations.map((/** @type {{ usd: string, status: string }} */ a) => `${a.usd} USDC ${a.status}`).join(', ') : null],
    ['Notes', detail.notes.length ? el('ul', {}, detail.notes.map((note) => el('li', {}, [note]))) : null],
  ])
}

/** The edit request for the image shown, in the chosen form. */
function editRequest() {
  const item = list.items()[shown.position]
  if (!item) return ''
  const url = `${location.origin}/images/${item.file}`
  const body = JSON.stringify({ image: url, prompt: 'describe the change here' })
  if (editForm.value === 'json') return JSON.stringify({ image: url, prompt: 'describe the change here' }, null, 2)
  if (editForm.value === 'cli') return `imagegen edit ${shellQuote(shown.detail?.path ?? url)} "describe the change here"`
  return [
    `curl -s ${location.origin}/v1/images/image2image \\`,
    '  -H "authorization: Bearer $(imagegen token)" \\',
    "  -H 'content-type: application/json' \\",
    `  -d ${shellQuote(body)}`,
  ].join('\n')
}

async function copyEditRequest() {
  const text = editRequest()
  editText.textContent = text
  editText.hidden = false
  const status = byId('v-copied')
  try {
    await navigator.clipboard.writeText(text)
    status.textContent = 'Copied: paste it, then write the change you want in place of "describe the change here".'
  } catch {
    // No clipboard (permissions, an old browser): the text is selected to copy by hand.
    const range = document.createRange()
    range.selectNodeContents(editText)
    getSelection()?.removeAllRanges()
    getSelection()?.addRange(range)
    status.textContent = 'The clipboard is not available here: the request is selected, copy it with Ctrl+C.'
  }
}

/** @param {number} step */
async function step(step) {
  const position = shown.position + step
  if (position >= list.items().length && list.hasMore()) await list.loadMore()
  if (position >= 0 && position < list.items().length) await openViewer(position)
}

byId('v-close').addEventListener('click', () => viewer.close())
byId('v-prev').addEventListener('click', () => void step(-1))
byId('v-next').addEventListener('click', () => void step(1))
byId('v-edit').addEventListener('click', () => void copyEditRequest())
editForm.addEventListener('change', () => {
  if (!editText.hidden) void copyEditRequest()
})
viewer.addEventListener('close', () => {
  shown.position = -1
  viewerImage.removeAttribute('src')
  history.replaceState(null, '', `${location.pathname}${location.search}`)
})
viewer.addEventListener('click', (event) => {
  if (event.target === viewer) viewer.close()
})
viewer.addEventListener('keydown', (event) => {
  if (event.key === 'ArrowLeft') void step(-1)
  if (event.key === 'ArrowRight') void step(1)
})
