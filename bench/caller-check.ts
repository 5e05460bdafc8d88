/**
 * What the caller check costs (server/http/middleware/caller-auth): one lookup in the kernel's
 * socket table per new connection, none for further requests on a kept-alive one. Measured with
 * the table as it is, and with 1,000 more connections open (a busy machine's table is longer,
 * and the lookup reads it whole).
 */
import { readFile } from 'node:fs/promises'
import { Agent, request } from 'node:http'
import { connect, createServer, type Socket } from 'node:net'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { socketOwner } from '../server/auth/socket-owner.js'
import { resolveSettings } from '../server/config.js'
import { startProxy } from '../server/http/server.js'
import { median, type Row } from './stats.js'

const us = (value: number) => `${(value * 1000).toFixed(0)} µs`

async function lookupTimes(runs: number): Promise<{ times: number[]; rows: number }> {
  const server = createServer()
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const client = connect((server.address() as { port: number }).port, '127.0.0.1')
  const socket = await accepted
  const peer = { address: socket.remoteAddress!, port: socket.remotePort! }
  const local = { address: socket.localAddress!, port: socket.localPort! }
  const times: number[] = []
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now()
    if ((await socketOwner(peer, local)) === undefined) throw new Error('bench: our own connection was not found in the socket table')
    times.push(performance.now() - t0)
  }
  const rows = (await readFile('/proc/net/tcp', 'latin1')).split('\n').length - 2
  client.destroy()
  socket.destroy()
  server.close()
  return { times, rows }
}

/** Holds `count` loopback connections open until the returned function is called. */
async function openConnections(count: number): Promise<() => void> {
  const server = createServer(() => {})
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  const sockets = await Promise.all(Array.from({ length: count }, () => new Promise<Socket>((resolve) => { const s = connect(port, '127.0.0.1', () => resolve(s)) })))
  return () => {
    for (const s of sockets) s.destroy()
    server.close()
  }
}

function get(url: string, agent: Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now()
    request(url, { agent }, (res) => {
      res.resume()
      res.once('end', () => resolve(performance.now() - t0))
    })
      .once('error', reject)
      .end()
  })
}

export async function callerCheck(rows: Row[]): Promise<void> {
  if (process.platform !== 'linux') return
  const plain = await lookupTimes(300)
  rows.push({ measure: `(8) socket-table lookup per new connection, ${plain.rows} rows in /proc/net/tcp, median`, value: us(median(plain.times)), target: '', met: undefined })
  const release = await openConnections(1000)
  try {
    const busy = await lookupTimes(300)
    rows.push({ measure: `(8) … with ${busy.rows} rows (1,000 more connections open), median`, value: us(median(busy.times)), target: '', met: undefined })
  } finally {
    release()
  }
  const proxy = await startProxy(resolveSettings({ home: await mkdtemp(join(tmpdir(), 'imagegen-bench-caller-')), port: 0, upstream: 'http://127.0.0.1:9' }))
  try {
    // Identity: through the caller check, then an HMAC and nothing else (no upstream, no disk).
    const url = `${proxy.url}/v1/identity?nonce=${'0'.repeat(64)}`
    const kept = new Agent({ keepAlive: true, maxSockets: 1 })
    const fresh = new Agent({ keepAlive: false })
    const keptTimes: number[] = []
    const freshTimes: number[] = []
    for (let i = 0; i < 50; i++) await get(url, kept) // warm-up
    for (let i = 0; i < 500; i++) {
      keptTimes.push(await get(url, kept))
      freshTimes.push(await get(url, fresh))
    }
    kept.destroy()
    rows.push({
      measure: '(8) GET /v1/identity through the caller check (owner mode), median: kept-alive connection / new connection each time',
      value: `${us(median(keptTimes))} / ${us(median(freshTimes))}`,
      target: '',
      met: undefined,
    })
  } finally {
    await proxy.close()
  }
}
