/**
 * Calendar days in the viewer's time zone. The gallery's page sends its IANA zone
 * (`Intl.DateTimeFormat().resolvedOptions().timeZone`), so "today" and a day filter mean the
 * user's own days; without one, days are UTC, as `imagegen usage` counts them.
 */
import { invalidRequest } from '../errors.js'

/** A day as `YYYY-MM-DD`. */
export type DayKey = string

const DAY_PATTERN = /^\d{4}-\d{2}-\d{2}$/
const formatters = new Map<string, Intl.DateTimeFormat>()

/** The zone named by a request (`tz`), checked: an unknown one is a 400, never a silent UTC. */
export function timeZoneOf(tz: string | undefined): string {
  if (tz === undefined || tz === '') return 'UTC'
  if (tz.length > 64 || !/^[A-Za-z0-9_+\-/]+$/.test(tz)) throw invalidRequest('tz must be an IANA time zone such as Europe/Berlin or UTC.', 'tz')
  try {
    formatterFor(tz)
  } catch {
    throw invalidRequest(`Unknown time zone ${JSON.stringify(tz)}; send an IANA name such as Europe/Berlin, or leave tz out for UTC.`, 'tz')
  }
  return tz
}

/** A `YYYY-MM-DD` from a request, checked. */
export function dayOf(day: string | undefined, param = 'day'): DayKey | undefined {
  if (day === undefined || day === '') return undefined
  if (!DAY_PATTERN.test(day) || Number.isNaN(Date.parse(`${day}T00:00:00Z`))) throw invalidRequest(`${param} must be a date written YYYY-MM-DD.`, param)
  return day
}

const DAY_MS = 86_400_000
/** Per zone, per UTC day: the zone's offset (minutes) when it holds all day, null when it changes that day. */
const offsets = new Map<string, Map<number, number | null>>()
const partFormatters = new Map<string, Intl.DateTimeFormat>()

/**
 * The day an instant falls on in `tz`. Formatting each instant with Intl costs microseconds, a
 * gallery of thousands asks for thousands of them, and a zone's offset changes at most twice a
 * year: so the offset is found once per UTC day (when it holds from that day's start to its end),
 * and Intl formats the instant itself only on a day the offset changes.
 */
export function dayKey(tz: string, ms: number): DayKey {
  let days = offsets.get(tz)
  if (!days) {
    if (offsets.size > 32) offsets.clear()
    offsets.set(tz, (days = new Map()))
  }
  const day = Math.floor(ms / DAY_MS)
  let offset = days.get(day)
  if (offset === undefined) {
    const start = offsetAt(tz, day * DAY_MS)
    offset = start === offsetAt(tz, (day + 1) * DAY_MS - 1000) ? start : null
    if (days.size > 100_000) days.clear()
    days.set(day, offset)
  }
  return offset === null ? formatterFor(tz).format(ms) : new Date(ms + offset * 60_000).toISOString().slice(0, 10)
}

/** `tz`'s offset from UTC at `ms`, minutes (whole seconds of the wall clock, as zones have them). */
function offsetAt(tz: string, ms: number): number {
  let formatter = partFormatters.get(tz)
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' })
    if (partFormatters.size > 32) partFormatters.clear()
    partFormatters.set(tz, formatter)
  }
  const part: Record<string, number> = {}
  for (const { type, value } of formatter.formatToParts(ms)) part[type] = Number(value)
  const wall = Date.UTC(part.year!, part.month! - 1, part.day!, part.hour!, part.minute!, part.second!)
  return Math.round((wall - Math.floor(ms / 1000) * 1000) / 60_000)
}

/** The `count` days ending with `last`, oldest first: calendar arithmetic, so a DST change never skips a day. */
export function daysEndingWith(last: DayKey, count: number): DayKey[] {
  const end = Date.parse(`${last}T00:00:00Z`)
  return Array.from({ length: count }, (_, i) => new Date(end - (count - 1 - i) * 86_400_000).toISOString().slice(0, 10))
}

function formatterFor(tz: string): Intl.DateTimeFormat {
  let formatter = formatters.get(tz)
  if (!formatter) {
    // en-CA writes dates as YYYY-MM-DD.
    formatter = new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' })
    if (formatters.size > 32) formatters.clear()
    formatters.set(tz, formatter)
  }
  return formatter
}
