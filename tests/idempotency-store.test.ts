/**
 * The idempotency journal's rules on a real file, with two stores standing for two processes over
 * one home: how long a key speaks for a retry, and what a derived key does when the same call runs
 * elsewhere. (End to end through the proxy: tests/idempotency.test.ts.)
 */
import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { IdempotencyStore, KEY_TTL_MS, REQUESTS_FILE, UNDELIVERED_TTL_MS } from '../server/receipts/idempotency.js'

let home: string
let stores: IdempotencyStore[] = []
/** Request ids whose result is in the receipt index. */
let stored = new Set<string>()
const open = () => {
  const store = new IdempotencyStore({ home, moneyMoved: async () => false, stored: (id) => stored.has(id), runningLimitMs: 60_000 })
  stores.push(store)
  return store
}
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'imagegen-keys-'))
})
afterEach(async () => {
  await Promise.all(stores.map((store) => store.close()))
  stores = []
  stored = new Set()
  await rm(home, { recursive: true, force: true })
})

async function pastRequest(key: string, id: string, reuse: 'always' | 'undelivered', ageMs: number, delivered: boolean) {
  const t = Date.now() - ageMs
  const lines = [
    { kind: 'claim', t, key, id, fingerprint: 'f', reuse, owner: '999999999:gone' },
    { kind: 'done', t, key, id, delivered },
  ]
  await appendFile(join(home, REQUESTS_FILE), lines.map((line) => `${JSON.stringify(line)}\n`).join(''))
}

describe('idempotency keys', () => {
  it("a caller's key hands back its result for 24 hours, then starts afresh", async () => {
    await pastRequest('recent', 'r1', 'always', KEY_TTL_MS - 60_000, true)
    await pastRequest('old', 'r2', 'always', KEY_TTL_MS + 60_000, true)
    const store = open()
    expect(await store.claim({ key: 'recent', reuse: 'always' }, 'f', 'n1')).toEqual({ kind: 'replay', id: 'r1' })
    expect(await store.claim({ key: 'old', reuse: 'always' }, 'f', 'n2')).toEqual({ kind: 'owner', id: 'n2' })
  })

  it('a derived key hands back only an undelivered result, within 30 minutes', async () => {
    await pastRequest('undelivered', 'r1', 'undelivered', UNDELIVERED_TTL_MS - 60_000, false)
    await pastRequest('delivered', 'r2', 'undelivered', 60_000, true)
    await pastRequest('stale', 'r3', 'undelivered', UNDELIVERED_TTL_MS + 60_000, false)
    const store = open()
    expect(await store.claim({ key: 'undelivered', reuse: 'undelivered' }, 'f', 'n1')).toEqual({ kind: 'replay', id: 'r1' })
    expect(await store.claim({ key: 'delivered', reuse: 'undelivered' }, 'f', 'n2')).toEqual({ kind: 'owner', id: 'n2' })
    expect(await store.claim({ key: 'stale', reuse: 'undelivered' }, 'f', 'n3')).toEqual({ kind: 'owner', id: 'n3' })
  })

  it("while a call runs in another process, a caller's key is refused with 409 and a derived key runs its own", async () => {
    const [first, second] = [open(), open()]
    expect((await first.claim({ key: 'k', reuse: 'always' }, 'f', 'a')).kind).toBe('owner')
    const refused = await second.claim({ key: 'k', reuse: 'always' }, 'f', 'b')
    expect(refused.kind === 'refused' && refused.error.status).toBe(409)
    expect((await first.claim({ key: 'd', reuse: 'undelivered' }, 'f', 'c')).kind).toBe('owner')
    expect(await second.claim({ key: 'd', reuse: 'undelivered' }, 'f', 'e')).toEqual({ kind: 'owner', id: 'e' })
  })

  it('in one process a duplicate waits for the first, then gets its result', async () => {
    const store = open()
    expect((await store.claim({ key: 'w', reuse: 'always' }, 'f', 'a')).kind).toBe('owner')
    const waiting = store.claim({ key: 'w', reuse: 'always' }, 'f', 'b')
    let settled = false
    void waiting.then(() => (settled = true))
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(settled).toBe(false)
    await store.done('w', 'a', true)
    store.release('w')
    expect(await waiting).toEqual({ kind: 'replay', id: 'a' })
  })

  it('a process that ended after storing its result but before marking its key: the retry gets that result, and the key is marked', async () => {
    const claim = { kind: 'claim', t: Date.now() - 60_000, key: 'crashed', id: 'r1', fingerprint: 'f', reuse: 'always', owner: '999999999:gone' }
    await appendFile(join(home, REQUESTS_FILE), `${JSON.stringify(claim)}\n`)
    stored.add('r1')
    expect(await open().claim({ key: 'crashed', reuse: 'always' }, 'f', 'n1')).toEqual({ kind: 'replay', id: 'r1' })
    // Marked done: another process judges it as an ordinary finished request.
    expect(await open().claim({ key: 'crashed', reuse: 'always' }, 'f', 'n2')).toEqual({ kind: 'replay', id: 'r1' })
    const lines = (await readFile(join(home, REQUESTS_FILE), 'utf8')).trim().split('\n').map((line) => JSON.parse(line))
    expect(lines.filter((line) => line.kind === 'done')).toEqual([expect.objectContaining({ key: 'crashed', id: 'r1', delivered: false })])
  })
})
