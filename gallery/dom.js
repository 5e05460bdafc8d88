// @ts-check
/**
 * Small helpers the gallery's modules share: building elements (text always as text, never as
 * HTML: prompts are the user's words and the page runs under a CSP without inline script), the
 * API, and formatting.
 */

/**
 * An element with attributes and children; strings become text nodes.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, string | number | boolean | undefined | null>} [attributes]
 * @param {Array<Node | string | null | undefined | false>} [children]
 * @returns {HTMLElementTagNameMap[K]}
 */
export function el(tag, attributes = {}, children = []) {
  const node = document.createElement(tag)
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue
    if (name === 'class') node.className = String(value)
    else node.setAttribute(name, value === true ? '' : String(value))
  }
  for (const child of children) if (child !== null && child !== undefined && child !== false) node.append(child)
  return node
}

const SVG = 'http://www.w3.org/2000/svg'

/**
 * An SVG element with attributes.
 * @param {string} tag
 * @param {Record<string, string | number | undefined>} [attributes]
 * @param {Array<Node | string>} [children]
 * @returns {SVGElement}
 */
export function svg(tag, attributes = {}, children = []) {
  const node = /** @type {SVGElement} */ (document.createElementNS(SVG, tag))
  for (const [name, value] of Object.entries(attributes)) if (value !== undefined) node.setAttribute(name, String(value))
  for (const child of children) node.append(child)
  return node
}

/**
 * The element with this id (the page's own markup has it).
 * @template {HTMLElement} T
 * @param {string} id
 * @returns {T}
 */
export function byId(id) {
  const node = document.getElementById(id)
  if (!node) throw new Error(`the page has no #${id}`)
  return /** @type {T} */ (node)
}

/** A refusal or failure of the proxy, with its message. */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} message
   * @param {string | undefined} code
   */
  constructor(status, message, code) {
    super(message)
    this.status = status
    this.code = code
  }
}

/**
 * GET a JSON route of the proxy (same origin: the session cookie or the socket owner admits us).
 * @param {string} path
 * @param {Record<string, string | number | boolean | undefined>} [query]
 * @returns {Promise<any>}
 */
export async function api(path, query = {}) {
  const parameters = new URLSearchParams()
  for (const [name, value] of Object.entries(query)) if (value !== undefined && value !== '' && value !== false) parameters.set(name, value === true ? '1' : String(value))
  const search = parameters.toString()
  const response = await fetch(`${path}${search ? `?${search}` : ''}`, { headers: { accept: 'application/json' }, credentials: 'same-origin' })
  const body = await response.json().catch(() => undefined)
  if (!response.ok) throw new ApiError(response.status, body?.error?.message ?? `The proxy answered HTTP ${response.status}.`, body?.error?.code)
  return body
}

/** The viewer's IANA time zone: days and times are theirs. */
export const TIME_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC'

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' })
const dayFormat = new Intl.DateTimeFormat(undefined, { weekday: 'short', month: 'short', day: 'numeric', timeZone: 'UTC' })
const shortDay = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', timeZone: 'UTC' })

/** @param {string} iso */
export const formatTime = (iso) => dateTime.format(new Date(iso))

/**
 * A YYYY-MM-DD day for people ("Tue, Nov 3"); `short` leaves out the weekday.
 * @param {string} day
 * @param {boolean} [short]
 */
export const formatDay = (day, short = false) => (short ? shortDay : dayFormat).format(new Date(`${day}T00:00:00Z`))

/**
 * A long hash shortened for display: 0x1234…cdef.
 * @param {string} text
 */
export const shorten = (text) => (text.length > 16 ? `${text.slice(0, 8)}…${text.slice(-6)}` : text)

/**
 * Base units (a decimal string of USDC's 6-decimal units) as a number of dollars, for drawing only:
 * every figure shown as text is the proxy's own exact string.
 * @param {string} amount
 */
export const dollars = (amount) => Number(amount) / 1e6

/**
 * Text for a shell's single quotes.
 * @param {string} text
 */
export const shellQuote = (text) => `'${text.replaceAll("'", "'\\''")}'`
