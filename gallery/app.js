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
import { api, ApiError, byId, el, formatDay, formatTime, TIME_ZONE } from './dom.js'
import { costLabel, ELSEWHERE, transaction } from './item.js'
import { showSpend } from './spend.js'
import { openViewer, viewList } from './viewer.js'

/** @typedef {import('./item.js').Item} Item */
/** @typedef {import('./item.js').Facets} Facets */

const PAGE_SIZE = 60

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
viewList({ items: () => state.items, hasMore: () => Boolean(state.next), loadMore: loadPage })
// The image named after # (a link to one): anything else there, a malformed escape included, opens none.
const wanted = (() => {
  try {
    return decodeURIComponent(location.hash.slice(1))
  } catch {
    return ''
  }
})()
await loadPage()
if (wanted) {
  const position = state.items.findIndex((item) => item.file === wanted)
  if (position >= 0) void openViewer(position)
}
