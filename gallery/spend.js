// @ts-check
/**
 * The spend view: what was spent on each calendar day of the last 30 (the viewer's days), per
 * model, against the daily budget, as a hand-drawn SVG bar chart; beside it, the rolling 24 hours
 * the budget really counts, with the authorizations it holds shown apart from what was spent.
 * Figures shown as text are the proxy's exact strings; numbers are used only to draw.
 */
import { api, byId, dollars, el, formatDay, formatTime, svg, TIME_ZONE } from './dom.js'

/**
 * @typedef {{ amount: string, usd: string }} Money
 * @typedef {{ day: string, spent: Money, held: Money, images: number, payments: number, by_model: Array<{ model: string, amount: string, usd: string }> }} Day
 * @typedef {{ days: number, tz: string, today: string, daily_budget: Money, calendar: Day[], models: Array<{ model: string, spent: Money, images: number, payments: number }>, networks: Array<{ network: string, label: string, testnet: boolean, spent: Money, payments: number }>, total: Money & { images: number, payments: number }, window: { from: string, to: string, budget: Record<string, string>, held: Array<{ id: string, model: string, amount: string, usd: string, status: string, reason: string | null, signed: string, counts_until: string }>, unconfirmed: number } }} Spend
 */

/** Colours for models, in order of spend; the same on every chart of the page. */
const PALETTE = ['#4f7cff', '#f28c28', '#2bb673', '#d94f8a', '#8a63d2', '#1fb5c4', '#c9a227', '#7d8a99']

/** @type {Promise<void> | undefined} */
let loading
/** The chart's scale: `auto` is the budget's when the bars still show against it, else the bars'. */
let scale = /** @type {'auto' | 'budget' | 'spend'} */ ('auto')
/** @type {Spend | undefined} */
let last

/**
 * Fills the spend panel (once per visit of the tab; a click on the tab again reloads it).
 * @param {HTMLElement} panel
 */
export function showSpend(panel) {
  loading ??= load(panel).finally(() => (loading = undefined))
  return loading
}

/** @param {HTMLElement} panel */
async function load(panel) {
  const status = byId('spend-status')
  status.textContent = 'Loading…'
  try {
    /** @type {Spend} */
    const spend = await api('/v1/gallery/spend', { days: 30, tz: TIME_ZONE })
    last = spend
    const colours = coloursOf(spend)
    byId('tz-label').textContent = `(${spend.tz}, last ${spend.days} days)`
    drawChart()
    byId('legend').replaceChildren(...legend(spend, colours))
    byId('window').replaceChildren(...rollingWindow(spend))
    byId('models').replaceChildren(...modelRows(spend, colours))
    byId('spend-total').textContent = `${spend.total.usd} for ${spend.total.images} image${spend.total.images === 1 ? '' : 's'} in ${spend.total.payments} payment${spend.total.payments === 1 ? '' : 's'}${spend.networks.length ? `, paid on ${spend.networks.map((n) => `${n.label}${n.testnet ? ' (test network)' : ''}`).join(' and ')}` : ''}.`
    status.textContent = ''
    panel.dataset.loaded = 'true'
    performance.mark('gallery:spend')
  } catch (error) {
    status.textContent = error instanceof Error ? error.message : String(error)
  }
}

/** @param {Spend} spend */
const coloursOf = (spend) => new Map(spend.models.map((m, i) => [m.model, PALETTE[i % PALETTE.length] ?? '#888']))

function drawChart() {
  if (!last) return
  byId('chart').replaceChildren(chart(last, coloursOf(last)))
}

byId('scale').addEventListener('change', (event) => {
  scale = /** @type {'auto' | 'budget' | 'spend'} */ (/** @type {HTMLSelectElement} */ (event.target).value)
  drawChart()
})

const WIDTH = 760
const HEIGHT = 300
const MARGIN = { top: 16, right: 12, bottom: 34, left: 56 }

/**
 * Bars per calendar day, stacked by model; what the day's authorizations hold (not spent) hatched
 * on top; the daily budget as a dashed line.
 * @param {Spend} spend
 * @param {Map<string, string>} colours
 */
function chart(spend, colours) {
  const budget = dollars(spend.daily_budget.amount)
  const tallest = Math.max(0, ...spend.calendar.map((d) => dollars(d.spent.amount) + dollars(d.held.amount)))
  // Against the budget when the bars would still show; else to the bars, with the budget named above the scale.
  const budgetScale = scale === 'budget' || (scale === 'auto' && tallest >= budget / 5)
  const top = niceCeiling(Math.max(budgetScale ? budget : 0, tallest) * 1.08 || 0.01)
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom
  const slot = plotWidth / spend.calendar.length
  const barWidth = Math.max(2, slot * 0.7)
  /** @param {number} value */
  const y = (value) => MARGIN.top + plotHeight - (value / top) * plotHeight

  const root = svg('svg', { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: 'img', class: 'chart-svg', 'aria-label': `Spend per day over ${spend.days} days; daily budget ${spend.daily_budget.usd}` })
  root.append(
    svg('defs', {}, [
      svg('pattern', { id: 'held-hatch', width: 6, height: 6, patternUnits: 'userSpaceOnUse', patternTransform: 'rotate(45)' }, [svg('rect', { width: 6, height: 6, class: 'held-bg' }), svg('line', { x1: 0, y1: 0, x2: 0, y2: 6, class: 'held-line' })]),
    ]),
  )
  // Grid and the dollar axis.
  for (let i = 0; i <= 4; i++) {
    const value = (top / 4) * i
    root.append(svg('line', { x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: y(value), y2: y(value), class: 'grid-line' }))
    root.append(svg('text', { x: MARGIN.left - 8, y: y(value) + 4, class: 'axis', 'text-anchor': 'end' }, [axisLabel(value)]))
  }
  spend.calendar.forEach((day, i) => {
    const x = MARGIN.left + slot * i + (slot - barWidth) / 2
    const group = svg('g', { class: `day${day.day === spend.today ? ' today' : ''}`, 'data-day': day.day, 'data-spent': day.spent.amount, 'data-held': day.held.amount })
    const lines = [`${formatDay(day.day)}: ${day.spent.usd} spent on ${day.images} image${day.images === 1 ? '' : 's'}`, ...day.by_model.map((m) => `  ${m.model}: ${m.usd}`)]
    if (day.held.amount !== '0') lines.push(`${day.held.usd} held by authorizations not settled (not spent)`)
    group.append(svg('title', {}, [lines.join('\n')]))
    // A full-height target, so a day is easy to point at even when it spent nothing.
    group.append(svg('rect', { x: MARGIN.left + slot * i, y: MARGIN.top, width: slot, height: plotHeight, class: 'hit' }))
    let base = 0
    for (const part of day.by_model) {
      const value = dollars(part.amount)
      group.append(svg('rect', { x, y: y(base + value), width: barWidth, height: Math.max(0, y(base) - y(base + value)), fill: colours.get(part.model) ?? '#888', 'data-model': part.model, 'data-amount': part.amount }))
      base += value
    }
    const held = dollars(day.held.amount)
    if (held > 0) group.append(svg('rect', { x, y: y(base + held), width: barWidth, height: y(base) - y(base + held), fill: 'url(#held-hatch)', class: 'held', 'data-amount': day.held.amount }))
    if (i % 5 === (spend.calendar.length - 1) % 5 || day.day === spend.today)
      group.append(svg('text', { x: x + barWidth / 2, y: HEIGHT - MARGIN.bottom + 18, class: 'axis', 'text-anchor': 'middle' }, [day.day === spend.today ? 'today' : formatDay(day.day, true)]))
    root.append(group)
  })
  if (budget <= top) {
    root.append(svg('line', { x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: y(budget), y2: y(budget), class: 'budget-line' }))
    root.append(svg('text', { x: WIDTH - MARGIN.right, y: y(budget) - 6, class: 'budget-label', 'text-anchor': 'end' }, [`daily budget ${spend.daily_budget.usd} (any 24 hours)`]))
  } else root.append(svg('text', { x: WIDTH - MARGIN.right, y: MARGIN.top - 4, class: 'budget-label', 'text-anchor': 'end' }, [`↑ daily budget ${spend.daily_budget.usd}, above this scale`]))
  return root
}

/** @param {number} value */
function axisLabel(value) {
  if (value === 0) return '$0'
  return value >= 10 ? `$${Math.round(value)}` : value >= 0.1 ? `$${value.toFixed(2)}` : `$${value.toFixed(3)}`
}

/**
 * A round number at or above `value`, for the axis: 1, 2 or 5 times a power of ten.
 * @param {number} value
 */
function niceCeiling(value) {
  const power = 10 ** Math.floor(Math.log10(value))
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= value) return step * power
  return 10 * power
}

/**
 * @param {Spend} spend
 * @param {Map<string, string>} colours
 */
function legend(spend, colours) {
  const items = spend.models.map((m) => el('span', { class: 'key' }, [swatch(colours.get(m.model) ?? '#888'), m.model]))
  if (spend.calendar.some((d) => d.held.amount !== '0')) items.push(el('span', { class: 'key' }, [el('span', { class: 'swatch held-swatch' }), 'held, not spent']))
  items.push(el('span', { class: 'key' }, [el('span', { class: 'swatch budget-swatch' }), 'daily budget']))
  return items
}

/** @param {string} colour */
function swatch(colour) {
  const node = el('span', { class: 'swatch' })
  node.style.background = colour
  return node
}

/**
 * The budget's own window: used = spent + held, of the budget, and what is left; the held
 * authorizations listed with when each stops counting.
 * @param {Spend} spend
 */
function rollingWindow(spend) {
  const b = spend.window.budget
  const daily = dollars(b.daily ?? '0') || 1
  const part = (/** @type {string} */ cls, /** @type {string} */ amount) => {
    const node = el('span', { class: cls })
    node.style.width = `${Math.min(100, (dollars(amount) / daily) * 100)}%`
    return node
  }
  const held = spend.window.held
  return [
    el('div', { class: 'gauge', role: 'img', 'aria-label': `${b.usedLast24hUsd} of ${b.dailyUsd} used` }, [part('spent', b.spentLast24h ?? '0'), part('held', b.heldLast24h ?? '0')]),
    el('dl', { class: 'window-figures' }, [
      el('dt', {}, ['Used']), el('dd', { id: 'window-used' }, [`${b.usedLast24hUsd} of ${b.dailyUsd}`]),
      el('dt', {}, ['Spent']), el('dd', { id: 'window-spent' }, [b.spentLast24hUsd ?? '']),
      el('dt', {}, ['Held']), el('dd', { id: 'window-held' }, [b.heldLast24hUsd ?? '']),
      el('dt', {}, ['Left']), el('dd', { id: 'window-left' }, [b.remainingUsd ?? '']),
    ]),
    el('p', { class: 'muted small' }, [`From ${formatTime(spend.window.from)} to now.${spend.window.unconfirmed ? ` ${spend.window.unconfirmed} payment(s) of unknown outcome count as spent.` : ''}`]),
    held.length
      ? el('div', { class: 'held-list' }, [
          el('h3', {}, ['Held: signed, not settled']),
          el('p', { class: 'muted small' }, ['Nothing was paid for these, but a signed authorization could still be settled until it expires, so each counts against the budget until the chain shows it unused or 24 hours pass.']),
          el('ul', {}, held.map((h) => el('li', { 'data-id': h.id }, [el('b', {}, [h.usd]), ` ${h.model}, ${h.status}${h.reason ? ` (${h.reason})` : ''}; counts until ${formatTime(h.counts_until)}`]))),
        ])
      : el('p', { class: 'muted small' }, ['No authorization is held: everything counted was spent.']),
  ]
}

/**
 * @param {Spend} spend
 * @param {Map<string, string>} colours
 */
function modelRows(spend, colours) {
  if (!spend.models.length) return [el('tr', {}, [el('td', { colspan: 4, class: 'muted' }, ['Nothing spent in these days.'])])]
  return spend.models.map((m) => el('tr', { 'data-model': m.model }, [el('td', {}, [swatch(colours.get(m.model) ?? '#888'), m.model]), el('td', { class: 'num' }, [String(m.images)]), el('td', { class: 'num' }, [String(m.payments)]), el('td', { class: 'num' }, [m.spent.usd])]))
}
