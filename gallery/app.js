// @ts-check
/**
 * The gallery page: every picture the proxy stored, newest first, a page at a time, with its
 * prompt, model, size, cost, time and transaction; filters by model, day, origin and prompt
 * words; a viewer with the full image and its receipt; and the spend view (spend.js).
 *
 * Everything comes from the proxy's own JSON routes (`/v1/gallery`, `/v1/gallery/items/<file>`,
 * `/v1/gallery/spend`); thumbnails from `/gallery/thumbnails/<file>`, made once and cached by the
 * proxy. The filters live in the address (`?model=…&day=…`), so a reload or a bookmark keeps them.
 */
import { api, ApiError, byId, el, formatDay, formatTime, shellQuote, shorten, TIME_ZONE } from './dom.js'
import { showSpend } from './spend.js'

/**
 * @typedef {{ amount: string, usd: string, network: string, network_label: string, testnet: boolean, status: string, transaction: string | null, explorer: { name: string, url: string } | null }} Cost
 * @typedef {{ file: string, url: string, thumbnail_url: string, source: 'ours' | 'clawrouter' | 'unindexed', created: string, day: string, mime_type: string, kind: string | null, prompt: string | null, revised_prompt: string | null, model: string | null, requested_model: string | null, size: string | null, n: number | null, index: number | null, bytes: number | null, receipt: string | null, cost: Cost | null, missing: boolean }} Item
 * @typedef {Item & { path: string, sha256: string | null, notes: string[], receipt_view: any }} Detail
 * @typedef {{ models: Array<{ model: string, count: number }>, days: Array<{ day: string, count: number }>, sources: { ours: number, elsewhere: number }, total: number }} Facets
 */

const PAGE_SIZE = 60
const ELSEWHERE = { clawrouter: 'Made elsewhere (ClawRouter)', unindexed: 'Made elsewhere (not in this index)' }

const grid = /** @type {HTMLUListElement} */ (byId('grid'))
const more = /** @type {HTMLButtonElement} */ (byId('more'))
const count = byId('count')
const notice = byId('notice')
const filters = {
  model: /** @type {HTMLSelectElement} */ (byId('f-model')),
  day: /** @type {HTMLSelectElement} */ (byId('f-day')),
  source: /** @type {HTMLSelectElement} */ (byId('f-source')),
  q: /** @type {HTMLInputElement} */ (byId('f-q')),
}

/**
 * The list shown: `generation` counts filter changes, so an answer for older filters is dropped;
 * `loading` is the generation a page is being fetched for (-1: none).
 * @type {{ items: Item[], next: string | null, loading: number, generation: number, facets: Facets | undefined }}
 */
const state = { items: [], next: null, loading: -1, generation: 0, facets: undefined }

// ---- the list --------------------------------------------------------------------------------

function query() {
  return { model: filters.model.value, day: filters.day.value, source: filters.source.value === 'all' ? '' : filters.source.value, q: filters.q.value.trim(), tz: TIME_ZONE }
}

/** Starts the list over (a filter changed). */
async function reload() {
  state.generation++
  state.items = []
  state.next = null
  grid.replaceChildren()
  saveAddress()
  await loadPage()
}

/** The next page of the list, appended. */
async function loadPage() {
  const generation = state.generation
  if (state.loading === generation) return
  state.loading = generation
  more.disabled = true
  try {
    const page = await api('/v1/gallery', { ...query(), limit: PAGE_SIZE, before: state.next ?? undefined, facets: state.facets === undefined })
    if (generation !== state.generation) return
    if (page.facets) fillFacets(page.facets)
    state.next = page.next
    const start = state.items.length
    state.items.push(...page.data)
    grid.append(...page.data.map((/** @type {Item} */ item, /** @type {number} */ i) => card(item, start + i)))
    count.textContent = `${page.total} image${page.total === 1 ? '' : 's'}${isFiltered() ? ' match' : ''}`
    more.hidden = !page.has_more
    if (state.items.length === 0) showEmpty()
    else notice.hidden = true
    performance.mark('gallery:listed')
  } catch (error) {
    showError(error)
  } finally {
    if (state.loading === generation) state.loading = -1
    more.disabled = false
  }
}

function isFiltered() {
  const q = query()
  return Boolean(q.model || q.day || q.source || q.q)
}

/**
 * One picture in the grid.
 * @param {Item} item
 * @param {number} position
 */
function card(item, position) {
  const label = item.prompt ?? (item.source === 'ours' ? item.file : ELSEWHERE[item.source])
  const image = el('img', { src: `/gallery/thumbnails/${encodeURIComponent(item.file)}`, alt: label, loading: 'lazy', decoding: 'async', width: 400, height: 400 })
  image.addEventListener('error', () => image.replaceWith(el('span', { class: 'no-thumb' }, [item.missing ? 'file deleted' : 'no preview'])), { once: true })
  const tile = el('button', { class: 'tile', type: 'button', 'aria-label': `Open ${label}` }, [image, item.source !== 'ours' ? el('span', { class: 'badge' }, ['made elsewhere']) : null])
  tile.addEventListener('click', () => openViewer(position))
  const facts = item.source === 'ours'
    ? [el('span', { class: 'model' }, [item.model ?? '']), el('span', {}, [item.size ?? '']), costLabel(item), el('time', { datetime: item.created }, [formatTime(item.created)])]
    : [el('span', {}, [ELSEWHERE[item.source]]), el('time', { datetime: item.created }, [formatTime(item.created)])]
  return el('li', { class: `item${item.source === 'ours' ? '' : ' elsewhere'}`, 'data-file': item.file, 'data-model': item.model ?? '' }, [
    tile,
    el('div', { class: 'meta' }, [
      el('p', { class: 'prompt', title: item.prompt ?? '' }, [item.prompt ?? '—']),
      el('p', { class: 'facts' }, facts),
      item.cost ? transaction(item.cost) : null,
    ]),
  ])
}

/**
 * The cost as a label: dollars, for how many images, and the payment's state when not settled.
 * @param {Item} item
 */
function costLabel(item) {
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
function transaction(cost) {
  if (!cost.transaction) return el('p', { class: 'tx muted' }, [`${cost.network_label}: no transaction recorded`])
  const text = `tx ${shorten(cost.transaction)}`
  return el('p', { class: 'tx' }, [
    cost.explorer
      ? el('a', { href: cost.explorer.url, target: '_blank', rel: 'noopener noreferrer', title: `${cost.transaction} on ${cost.explorer.name}` }, [text])
      : el('span', { title: `${cost.transaction} (${cost.network_label}${cost.testnet ? ', a test network: no explorer' : ''})` }, [text]),
    el('span', { class: 'muted' }, [` · ${cost.network_label}`]),
  ])
}

/** @param {Facets} facets */
function fillFacets(facets) {
  state.facets = facets
  const { model, day } = query()
  filters.model.replaceChildren(el('option', { value: '' }, [`All models (${facets.sources.ours})`]), ...facets.models.map((m) => el('option', { value: m.model }, [`${m.model} (${m.count})`])))
  filters.day.replaceChildren(el('option', { value: '' }, ['All days']), ...facets.days.map((d) => el('option', { value: d.day }, [`${formatDay(d.day)} (${d.count})`])))
  // A filter from the address that names nothing here any more still shows, and finds nothing.
  for (const [select, value] of /** @type {const} */ ([[filters.model, model], [filters.day, day]])) {
    if (value && ![...select.options].some((o) => o.value === value)) select.append(el('option', { value }, [`${value} (0)`]))
    select.value = value
  }
  byId('summary').textContent = `${facets.total} image${facets.total === 1 ? '' : 's'}${facets.sources.elsewhere ? `, ${facets.sources.elsewhere} made elsewhere` : ''}`
}

function showEmpty() {
  notice.hidden = false
  notice.className = 'notice'
  notice.replaceChildren(
    isFiltered()
      ? el('p', {}, ['No image matches these filters.'])
      : el('p', {}, ['No images yet. Make one: ', el('code', {}, ['imagegen generate "a lighthouse at dusk"']), ', or ask your agent; it appears here.']),
  )
}

/** @param {unknown} error */
function showError(error) {
  notice.hidden = false
  notice.className = 'notice error'
  const message = error instanceof Error ? error.message : String(error)
  const signIn = error instanceof ApiError && (error.status === 401 || error.status === 403)
  notice.replaceChildren(el('p', {}, [message]))
  if (signIn) notice.append(el('p', {}, ['Sign this browser in: run ', el('code', {}, ['imagegen gallery']), ' and open the one-time link it prints.']))
}

// ---- the viewer ------------------------------------------------------------------------------

const viewer = /** @type {HTMLDialogElement} */ (byId('viewer'))
const viewerImage = /** @type {HTMLImageElement} */ (byId('v-img'))
const editForm = /** @type {HTMLSelectElement} */ (byId('v-edit-form'))
const editText = byId('v-edit-text')
/** @type {{ position: number, detail: Detail | undefined }} */
const shown = { position: -1, detail: undefined }

/** @param {number} position */
async function openViewer(position) {
  const item = state.items[position]
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
  next.disabled = position === state.items.length - 1 && !state.next
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
    ['Authorizations', payment?.authorizations?.length > 1 ? payment.authorizations.map((/** @type {{ amount: string, status: string }} */ a) => `${Number(a.amount) / 1e6} USDC ${a.status}`).join(', ') : null],
    ['Notes', detail.notes.length ? el('ul', {}, detail.notes.map((note) => el('li', {}, [note]))) : null],
  ])
}

/** The edit request for the image shown, in the chosen form. */
function editRequest() {
  const item = state.items[shown.position]
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
  if (position >= state.items.length && state.next) await loadPage()
  if (position >= 0 && position < state.items.length) await openViewer(position)
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

// ---- tabs, filters, address --------------------------------------------------------------------

/** @param {'images' | 'spend'} view */
function showView(view) {
  byId('images').hidden = view !== 'images'
  byId('spend').hidden = view !== 'spend'
  byId('tab-images').setAttribute('aria-selected', String(view === 'images'))
  byId('tab-spend').setAttribute('aria-selected', String(view === 'spend'))
  saveAddress()
  if (view === 'spend') void showSpend(byId('spend'))
}

function saveAddress() {
  const parameters = new URLSearchParams()
  const q = query()
  for (const name of /** @type {const} */ (['model', 'day', 'source', 'q'])) if (q[name]) parameters.set(name, q[name])
  if (!byId('spend').hidden) parameters.set('view', 'spend')
  const search = parameters.toString()
  history.replaceState(null, '', `${location.pathname}${search ? `?${search}` : ''}${location.hash}`)
}

function restoreAddress() {
  const parameters = new URLSearchParams(location.search)
  for (const name of /** @type {const} */ (['model', 'day'])) {
    const value = parameters.get(name)
    if (value) filters[name].append(el('option', { value }, [value]))
    filters[name].value = value ?? ''
  }
  filters.source.value = ['ours', 'elsewhere'].includes(parameters.get('source') ?? '') ? /** @type {string} */ (parameters.get('source')) : 'all'
  filters.q.value = parameters.get('q') ?? ''
  return parameters.get('view') === 'spend' ? 'spend' : 'images'
}

for (const select of [filters.model, filters.day, filters.source]) select.addEventListener('change', () => void reload())
/** @type {number | undefined} */
let typing
filters.q.addEventListener('input', () => {
  clearTimeout(typing)
  typing = window.setTimeout(() => void reload(), 250)
})
more.addEventListener('click', () => void loadPage())
byId('tab-images').addEventListener('click', () => showView('images'))
byId('tab-spend').addEventListener('click', () => showView('spend'))
// The next page comes as the end of the list comes into view.
new IntersectionObserver((entries) => {
  if (entries.some((entry) => entry.isIntersecting) && state.next && state.loading === -1) void loadPage()
}, { rootMargin: '800px' }).observe(byId('more-row'))

const view = restoreAddress()
showView(view)
const wanted = decodeURIComponent(location.hash.slice(1))
await loadPage()
if (wanted) {
  const position = state.items.findIndex((item) => item.file === wanted)
  if (position >= 0) void openViewer(position)
}
