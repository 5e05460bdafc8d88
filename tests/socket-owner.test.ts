/**
 * The pieces under the caller check: reading the kernel's socket table (real connections, and
 * tables written out to show the rows that must not count), the middleware's answer when no row
 * is found, the browser session rules, and the new settings.
 */
import { mkdtemp, writeFile } from 'node:fs/promises'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { browserSessions, isLocalPath } from '../server/auth/browser-session.js'
import { findOwner, ipv6Bytes, socketOwner } from '../server/auth/socket-owner.js'
import { resolveSettings, settingsFromEnv } from '../server/config.js'
import { callerAuth } from '../server/http/middleware/caller-auth/index.js'
import { loadPluginSettings } from '../plugin/openclaw/config.js'

const linux = process.platform === 'linux'

/** A loopback server on `host` and a client connected to it; both ends' sockets. */
async function connectedPair(host: string): Promise<{ server: Server; client: Socket; accepted: Socket }> {
  const server = createServer()
  const acceptedP = new Promise<Socket>((resolve) => server.once('connection', resolve))
  await new Promise<void>((resolve) => server.listen(0, host, resolve))
  const client = connect((server.address() as { port: number }).port, host)
  await new Promise<void>((resolve) => client.once('connect', resolve))
  return { server, client, accepted: await acceptedP }
}

describe.skipIf(!linux)("the kernel's socket table (Linux)", () => {
  for (const host of ['127.0.0.1', '::1']) {
    it(`finds our own uid for a live ${host} connection, seen from the server's side`, async () => {
      const { server, client, accepted } = await connectedPair(host)
      try {
        const peer = { address: accepted.remoteAddress!, port: accepted.remotePort! }
        const local = { address: accepted.localAddress!, port: accepted.localPort! }
        expect(await socketOwner(peer, local)).toBe(process.getuid!())
        // A port no client of ours holds has no row.
        expect(await socketOwner({ ...peer, port: peer.port === 1 ? 2 : 1 }, local)).toBeUndefined()
      } finally {
        client.destroy()
        accepted.destroy()
        server.close()
      }
    })
  }

  it('finds an IPv4 client of a dual-stack server (seen as ::ffff:127.0.0.1)', async () => {
    const server = createServer()
    const acceptedP = new Promise<Socket>((resolve) => server.once('connection', resolve))
    await new Promise<void>((resolve) => server.listen(0, '::', resolve))
    const client = connect((server.address() as { port: number }).port, '127.0.0.1')
    const accepted = await acceptedP
    try {
      expect(accepted.remoteAddress).toBe('::ffff:127.0.0.1')
      expect(await socketOwner({ address: accepted.remoteAddress!, port: accepted.remotePort! }, { address: accepted.localAddress!, port: accepted.localPort! })).toBe(process.getuid!())
    } finally {
      client.destroy()
      accepted.destroy()
      server.close()
    }
  })

  it('ignores rows that belong to no live caller: TIME_WAIT (always uid 0) and LISTEN', async () => {
    const header = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n'
    const row = (state: string, uid: number) => `   0: 0100007F:C350 0100007F:20D2 ${state} 00000000:00000000 00:00000000 00000000  ${String(uid).padStart(5)}        0 0 1 0000000000000000\n`
    expect(findOwner(header + row('06', 0), '0100007F:C350', '0100007F:20D2')).toBeUndefined()
    expect(findOwner(header + row('0A', 0), '0100007F:C350', '0100007F:20D2')).toBeUndefined()
    expect(findOwner(header + row('06', 0) + row('01', 1000), '0100007F:C350', '0100007F:20D2')).toBe(1000)
    // Read through socketOwner from table files, as the kernel would print them on this machine.
    const dir = await mkdtemp(join(tmpdir(), 'imagegen-tables-'))
    await writeFile(join(dir, 'tcp'), header + row('06', 0) + row('01', 4242))
    await writeFile(join(dir, 'tcp6'), header)
    const tables = { ipv4: join(dir, 'tcp'), ipv6: join(dir, 'tcp6') }
    expect(await socketOwner({ address: '127.0.0.1', port: 50000 }, { address: '127.0.0.1', port: 8402 }, tables)).toBe(4242)
    expect(await socketOwner({ address: '127.0.0.1', port: 50001 }, { address: '127.0.0.1', port: 8402 }, tables)).toBeUndefined()
  })

  it('parses IPv6 text forms', () => {
    expect(ipv6Bytes('::1')).toEqual([...Array(15).fill(0), 1])
    expect(ipv6Bytes('::ffff:127.0.0.1')).toEqual([...Array(10).fill(0), 0xff, 0xff, 127, 0, 0, 1])
    expect(ipv6Bytes('fe80::1%eth0')).toEqual([0xfe, 0x80, ...Array(13).fill(0), 1])
    expect(ipv6Bytes('not an address')).toBeUndefined()
  })
})

describe('a connection whose owner cannot be found', () => {
  let server: ReturnType<typeof serve>
  let url: string
  beforeAll(async () => {
    const app = new Hono()
    // The middleware alone, on a real socket, with a table that has no row for anyone (a peer on another machine).
    app.use(callerAuth({ mode: 'owner', token: 't'.repeat(43), sessions: browserSessions('t'.repeat(43), () => 0), ownerOf: async () => undefined }))
    app.get('/v1/models', (c) => c.json({ ok: true }))
    server = await new Promise((resolve) => {
      const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s))
    })
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`
  })
  afterAll(() => void server.close())

  it('is refused (closed when in doubt) with a 401 that says why and how to get in; the token still works', async () => {
    const refused = await fetch(`${url}/v1/models`)
    expect(refused.status).toBe(401)
    const body = (await refused.json()) as { error: { message: string; code: string } }
    expect(body.error.code).toBe('token_required')
    expect(body.error.message).toMatch(/not in the socket table.*imagegen token/)
    expect((await fetch(`${url}/v1/models`, { headers: { authorization: `Bearer ${'t'.repeat(43)}` } })).status).toBe(200)
  })
})

describe('browser sessions', () => {
  it('a link works once and not after it expires; a session expires; paths stay on this origin', () => {
    let now = 1_000_000
    const sessions = browserSessions('k'.repeat(43), () => 8402, () => now)
    const { code } = sessions.issue('/images/x.png')
    expect(sessions.redeem(code)).toEqual({ next: '/images/x.png' })
    expect(sessions.redeem(code)).toBeUndefined()
    const late = sessions.issue(undefined).code
    now += 5 * 60 * 1000 + 1
    expect(sessions.redeem(late)).toBeUndefined()
    const cookie = `imagegen_session_8402=${sessions.newSession()}`
    expect(sessions.admits(cookie)).toBe(true)
    expect(sessions.admits(cookie.replace('8402=', '8403='))).toBe(false)
    expect(browserSessions('o'.repeat(43), () => 8402, () => now).admits(cookie)).toBe(false)
    now += 31 * 24 * 3600 * 1000
    expect(sessions.admits(cookie)).toBe(false)
    for (const bad of ['//evil.example/', '/\\evil.example', 'https://evil.example', '/a\nb']) expect(isLocalPath(bad), bad).toBe(false)
    expect(isLocalPath('/images/x.png')).toBe(true)
  })
})

describe('settings for who may call', () => {
  it('BLOCKRUN_AUTH, --auth and the plugin config; a bad value is an error naming the setting', () => {
    expect(resolveSettings(settingsFromEnv({ BLOCKRUN_AUTH: 'token' })).auth).toBe('token')
    expect(resolveSettings({}).auth).toBe('auto')
    expect(() => resolveSettings({ auth: 'nobody' })).toThrow('auth: expected "auto" or "token", got "nobody"')
    const plugin = loadPluginSettings({ auth: 'token', allowedOrigins: ['http://localhost:3000'] }, {})
    expect(plugin.ok && plugin.settings.auth).toBe('token')
    expect(plugin.ok && plugin.settings.allowedOrigins).toEqual(['http://localhost:3000'])
  })

  it('BLOCKRUN_ALLOWED_ORIGINS takes origins only', () => {
    expect(resolveSettings(settingsFromEnv({ BLOCKRUN_ALLOWED_ORIGINS: 'http://localhost:3000, https://App.Example/' })).allowedOrigins).toEqual(['http://localhost:3000', 'https://app.example'])
    for (const bad of ['localhost:3000', 'http://localhost:3000/app', 'file:///tmp', 'null']) expect(() => resolveSettings({ allowedOrigins: bad }), bad).toThrow(/allowed origins/)
  })
})
