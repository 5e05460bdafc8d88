/**
 * Which IP addresses an edit input may be downloaded from. The proxy runs next to the user's
 * wallet, inside their network, often on a cloud machine: a URL handed to it by an agent (or a
 * prompt-injected page) must not make it fetch the router's admin page, a LAN service or the
 * cloud metadata endpoint and send what it got upstream.
 *
 * Classes:
 * - `public`: anything routable on the internet.
 * - `loopback`, `private` (RFC 1918, CGNAT, IPv6 ULA): allowed only with `allowPrivateUrls`, for a
 *   user whose photos live on a NAS or a local server.
 * - `link-local`, `metadata`, `reserved`: never allowed. Link-local is where cloud metadata lives
 *   (169.254.169.254); nobody keeps photos there, and credentials must not leak even to a user
 *   who allowed private addresses. `0.0.0.0` is reserved (Linux connects it to loopback).
 *
 * Addresses that embed an IPv4 address (IPv4-mapped, NAT64, 6to4) are judged by that address.
 */
import { isIPv4, isIPv6 } from 'node:net'

export type AddressClass = 'public' | 'loopback' | 'private' | 'link-local' | 'metadata' | 'reserved'

export type AddressPolicy = {
  /** Let loopback and private addresses through (Settings.allowPrivateUrls). */
  allowPrivate: boolean
}

type Range = { start: bigint; end: bigint; class: AddressClass }

const V4_RANGES: Array<[string, number, AddressClass]> = [
  ['0.0.0.0', 8, 'reserved'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'private'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'reserved'],
  ['192.0.2.0', 24, 'reserved'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'reserved'],
  ['198.51.100.0', 24, 'reserved'],
  ['203.0.113.0', 24, 'reserved'],
  ['224.0.0.0', 4, 'reserved'],
  ['240.0.0.0', 4, 'reserved'],
]

const V6_RANGES: Array<[string, number, AddressClass]> = [
  ['::', 128, 'reserved'],
  ['::1', 128, 'loopback'],
  ['::', 96, 'reserved'],
  ['100::', 64, 'reserved'],
  ['2001:db8::', 32, 'reserved'],
  ['fc00::', 7, 'private'],
  ['fe80::', 10, 'link-local'],
  ['fec0::', 10, 'private'],
  ['ff00::', 8, 'reserved'],
]

/** Cloud metadata services (AWS, GCP, Azure, Alibaba, ECS task metadata), including ones on public ranges. */
const METADATA = new Set(['169.254.169.254', '169.254.170.2', '168.63.129.16', '100.100.100.200', 'fd00:ec2::254'])

const v4Ranges: Range[] = V4_RANGES.map(([base, bits, kind]) => toRange(ipv4ToBigInt(base)!, bits, 32, kind))
const v6Ranges: Range[] = V6_RANGES.map(([base, bits, kind]) => toRange(ipv6ToBigInt(base)!, bits, 128, kind))

/** The class of `address` (IPv4 or IPv6 text, brackets and zone id allowed). Unparseable text is `reserved`. */
export function classifyAddress(address: string): AddressClass {
  const text = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '').toLowerCase()
  if (isIPv4(text)) {
    if (METADATA.has(text)) return 'metadata'
    return classify(ipv4ToBigInt(text)!, v4Ranges)
  }
  if (isIPv6(text)) {
    const value = ipv6ToBigInt(text)
    if (value === undefined) return 'reserved'
    const embedded = embeddedIpv4(value)
    if (embedded !== undefined) return classifyAddress(bigIntToIpv4(embedded))
    if (METADATA.has(bigIntToIpv6(value))) return 'metadata'
    return classify(value, v6Ranges)
  }
  return 'reserved'
}

/** The class that makes `address` refused under `policy`, or undefined when it may be contacted. */
export function refusedClass(address: string, policy: AddressPolicy): Exclude<AddressClass, 'public'> | undefined {
  const kind = classifyAddress(address)
  if (kind === 'public') return undefined
  if (policy.allowPrivate && (kind === 'loopback' || kind === 'private')) return undefined
  return kind
}

/** Words for messages: "a loopback address", "a cloud metadata address". */
export function describeClass(kind: Exclude<AddressClass, 'public'>): string {
  switch (kind) {
    case 'loopback':
      return 'a loopback address'
    case 'private':
      return 'a private network address'
    case 'link-local':
      return 'a link-local address'
    case 'metadata':
      return 'a cloud metadata address'
    case 'reserved':
      return 'a reserved or non-routable address'
  }
}

function classify(value: bigint, ranges: Range[]): AddressClass {
  // The most specific (narrowest) matching range wins: ::1 is loopback although ::/96 is reserved.
  let best: Range | undefined
  for (const range of ranges)
    if (value >= range.start && value <= range.end && (!best || range.end - range.start < best.end - best.start)) best = range
  return best?.class ?? 'public'
}

function toRange(base: bigint, bits: number, width: number, kind: AddressClass): Range {
  const size = 1n << BigInt(width - bits)
  const start = (base / size) * size
  return { start, end: start + size - 1n, class: kind }
}

/** IPv4 carried inside an IPv6 address: ::ffff:a.b.c.d, 64:ff9b::a.b.c.d (NAT64), 2002:aabb:ccdd:: (6to4). */
function embeddedIpv4(value: bigint): bigint | undefined {
  const low32 = value & 0xffffffffn
  if (value >> 32n === 0xffffn) return low32
  if (value >> 32n === 0x0064ff9b0000000000000000n) return low32
  if (value >> 112n === 0x2002n) return (value >> 80n) & 0xffffffffn
  return undefined
}

function ipv4ToBigInt(text: string): bigint | undefined {
  const parts = text.split('.').map(Number)
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return undefined
  return parts.reduce((sum, part) => (sum << 8n) + BigInt(part), 0n)
}

function bigIntToIpv4(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join('.')
}

function ipv6ToBigInt(text: string): bigint | undefined {
  let body = text
  // A trailing dotted IPv4 (::ffff:1.2.3.4) becomes two hex groups.
  const dotted = /(\d{1,3}(?:\.\d{1,3}){3})$/.exec(body)
  if (dotted) {
    const v4 = ipv4ToBigInt(dotted[1]!)
    if (v4 === undefined) return undefined
    body = `${body.slice(0, dotted.index)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`
  }
  const halves = body.split('::')
  if (halves.length > 2) return undefined
  const head = halves[0] ? halves[0].split(':') : []
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : []
  const missing = 8 - head.length - tail.length
  if (halves.length === 1 ? missing !== 0 : missing < 0) return undefined
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail]
  let value = 0n
  for (const group of groups) {
    if (!/^[0-9a-f]{1,4}$/.test(group)) return undefined
    value = (value << 16n) + BigInt(`0x${group}`)
  }
  return value
}

/** Canonical compressed form, for comparing with the METADATA set. */
function bigIntToIpv6(value: bigint): string {
  const groups = Array.from({ length: 8 }, (_, i) => ((value >> BigInt((7 - i) * 16)) & 0xffffn).toString(16))
  let bestStart = -1
  let bestLength = 1
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++
      continue
    }
    let j = i
    while (j < 8 && groups[j] === '0') j++
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i]
    i = j
  }
  if (bestStart < 0) return groups.join(':')
  return `${groups.slice(0, bestStart).join(':')}::${groups.slice(bestStart + bestLength).join(':')}`
}
