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

/** The day an instant falls on in `tz`. */
export function dayKey(tz: string, ms: number): DayKey {
  return formatterFor(tz).format(ms)
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
