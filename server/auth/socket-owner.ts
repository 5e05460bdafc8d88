/**
 * Who owns the other end of a local TCP connection, from Linux's socket table.
 *
 * Every TCP socket of the network namespace has a row in /proc/net/tcp (IPv4) or /proc/net/tcp6
 * (IPv6) with its local and remote address and the uid of the user who created it (proc(5),
 * "/proc/net/tcp"). A client on this machine connected to us has a row whose local end is the
 * peer address the proxy sees and whose remote end is the proxy's own address: its uid is the
 * caller. A peer on another machine has no such row.
 *
 * Addresses are printed as hex 32-bit words in the kernel's byte order, ports as 4 hex digits:
 * 127.0.0.1:8402 is `0100007F:20D2` on a little-endian machine.
 *
 * @see https://man7.org/linux/man-pages/man5/proc.5.html
 */
import { open, readFile } from 'node:fs/promises'
import { isIPv4, isIPv6 } from 'node:net'
import { endianness } from 'node:os'

export type Endpoint = { address: string; port: number }

export const SOCKET_TABLES = { ipv4: '/proc/net/tcp', ipv6: '/proc/net/tcp6' } as const

/**
 * Rows that say nothing about a live caller: TIME_WAIT (06) rows are what is left of a closed
 * socket and always show uid 0; LISTEN (0A) rows are not connections.
 */
const OWNERLESS_STATES = new Set(['06', '0A'])

/**
 * The uid that owns the socket at `peer`, connected to us at `local`; undefined when no live row
 * matches (a peer on another machine or in another network namespace, or a caller already gone).
 */
export async function socketOwner(peer: Endpoint, local: Endpoint, tables: { ipv4: string; ipv6: string } = SOCKET_TABLES): Promise<number | undefined> {
  for (const [table, encode] of lookups(peer.address)) {
    const peerKey = encode(peer.address, peer.port)
    const localKey = encode(local.address, local.port)
    if (!peerKey || !localKey) continue
    const uid = await scanTable(table === 'ipv4' ? tables.ipv4 : tables.ipv6, peerKey, localKey)
    if (uid !== undefined) return uid
  }
  return undefined
}

const CHUNK_BYTES = 64 * 1024

/**
 * Reads the table a chunk at a time and stops at the row: the kernel writes the text as it is
 * read, so a row near the top costs a fraction of the whole table (bench: "caller check").
 */
async function scanTable(path: string, peerKey: string, localKey: string): Promise<number | undefined> {
  const file = await open(path, 'r').catch(() => undefined)
  if (!file) return undefined
  try {
    const buffer = Buffer.allocUnsafe(CHUNK_BYTES)
    let carry = ''
    for (;;) {
      const { bytesRead } = await file.read(buffer, 0, CHUNK_BYTES, null)
      if (bytesRead === 0) return findOwner(carry, peerKey, localKey)
      const text = carry + buffer.toString('latin1', 0, bytesRead)
      // Only whole lines are searched; the unfinished last one waits for the next chunk.
      const lastLine = text.lastIndexOf('\n') + 1
      const uid = findOwner(text.slice(0, lastLine), peerKey, localKey)
      if (uid !== undefined) return uid
      carry = text.slice(lastLine)
    }
  } catch {
    return undefined
  } finally {
    await file.close()
  }
}

/** Can this process read the IPv4 table at all? (Checked once at start: no table, no owner mode.) */
export async function socketTableReadable(tables: { ipv4: string } = SOCKET_TABLES): Promise<boolean> {
  return readFile(tables.ipv4, 'latin1').then(
    (text) => text.startsWith('  sl'),
    () => false,
  )
}

type Encoder = (address: string, port: number) => string | undefined

/**
 * Where the client's row can be: an IPv4 peer (also seen as `::ffff:a.b.c.d` by a dual-stack
 * server) connected either from an IPv4 socket (tcp) or an IPv6 one to the mapped address (tcp6).
 */
function lookups(peerAddress: string): Array<['ipv4' | 'ipv6', Encoder]> {
  const v4 = unmapped(peerAddress)
  if (isIPv4(v4)) return [['ipv4', encodeIPv4], ['ipv6', encodeMappedIPv6]]
  return [['ipv6', encodeIPv6]]
}

/** The uid column of the live row `peer → local`, scanning with indexOf (tables can hold thousands of rows). */
export function findOwner(table: string, peerKey: string, localKey: string): number | undefined {
  const needle = ` ${peerKey} ${localKey} `
  for (let at = table.indexOf(needle); at !== -1; at = table.indexOf(needle, at + needle.length)) {
    const lineEnd = table.indexOf('\n', at)
    // After the addresses: st, tx_queue:rx_queue, tr:tm->when, retrnsmt, uid.
    const fields = table.slice(at + needle.length, lineEnd === -1 ? undefined : lineEnd).trim().split(/\s+/)
    const [state, , , , uid] = fields
    if (state === undefined || uid === undefined || OWNERLESS_STATES.has(state.toUpperCase())) continue
    const value = Number(uid)
    if (Number.isInteger(value)) return value
  }
  return undefined
}

const littleEndian = endianness() === 'LE'

function unmapped(address: string): string {
  return address.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '')
}

function hexPort(port: number): string {
  return port.toString(16).toUpperCase().padStart(4, '0')
}

/** Bytes as the kernel prints them: 32-bit words in host byte order. */
function hexWords(bytes: number[]): string {
  let hex = ''
  for (let i = 0; i < bytes.length; i += 4) {
    const word = bytes.slice(i, i + 4)
    for (const byte of littleEndian ? word.reverse() : word) hex += byte.toString(16).toUpperCase().padStart(2, '0')
  }
  return hex
}

function ipv4Bytes(address: string): number[] | undefined {
  const v4 = unmapped(address)
  return isIPv4(v4) ? v4.split('.').map(Number) : undefined
}

function encodeIPv4(address: string, port: number): string | undefined {
  const bytes = ipv4Bytes(address)
  return bytes && `${hexWords(bytes)}:${hexPort(port)}`
}

function encodeMappedIPv6(address: string, port: number): string | undefined {
  const bytes = ipv4Bytes(address)
  return bytes && `${hexWords([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...bytes])}:${hexPort(port)}`
}

function encodeIPv6(address: string, port: number): string | undefined {
  const bytes = ipv6Bytes(address)
  return bytes && `${hexWords(bytes)}:${hexPort(port)}`
}

/** The 16 bytes of an IPv6 address in text form (`::1`, `fe80::1%eth0`, `::ffff:1.2.3.4`). */
export function ipv6Bytes(address: string): number[] | undefined {
  const text = address.replace(/%.*$/, '')
  if (!isIPv6(text)) return undefined
  const [head = '', tail] = text.split('::') as [string, string | undefined]
  const groups = (part: string): number[] => {
    if (part === '') return []
    const out: number[] = []
    for (const piece of part.split(':')) {
      if (piece.includes('.')) {
        const [a, b, c, d] = piece.split('.').map(Number) as [number, number, number, number]
        out.push((a << 8) | b, (c << 8) | d)
      } else out.push(Number.parseInt(piece, 16))
    }
    return out
  }
  const first = groups(head)
  const last = tail === undefined ? [] : groups(tail)
  const words = tail === undefined ? first : [...first, ...Array<number>(8 - first.length - last.length).fill(0), ...last]
  if (words.length !== 8) return undefined
  return words.flatMap((word) => [word >> 8, word & 0xff])
}
