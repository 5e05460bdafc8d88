/**
 * Process-level safety: a graceful stop finishes what is in flight, and a hard kill in the middle
 * of writing an image leaves no partial file under a final name.
 */
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import { readLedger } from '../server/payment/ledger.js'
import { startSandbox } from '../server/sandbox/server.js'
import { IMAGE_NAME_PATTERN } from '../server/store/images.js'
import { TEMP_PREFIX } from '../server/store/atomic.js'
import { loadWallet } from '../server/wallet/key.js'
import { spawnProxy } from './helpers/processes.js'
import { tempHome } from './helpers/stack.js'

describe('graceful shutdown', () => {
  it('on SIGTERM stops accepting, finishes the request in flight, records it, exits 0', async () => {
    const home = await tempHome()
    const wallet = await loadWallet({ home })
    const sandbox = await startSandbox({ fund: { [wallet.address]: 10_000_000n }, latencyMs: 700 })
    const proxy = await spawnProxy({ home, upstream: sandbox.url })
    try {
      const inFlight = fetch(`${proxy.url}/v1/images/generations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'finish me' }) })
      await sleep(300)
      const exit = proxy.stop('SIGTERM')
      const response = await inFlight
      expect(response.status).toBe(200)
      const body = await response.json()
      await readFile(body.data[0].path)
      expect(await exit).toBe(0)
      await expect(fetch(`${proxy.url}/health`)).rejects.toThrow()
      const ledger = await readLedger(home)
      expect(ledger.map((p) => p.status)).toEqual(['settled'])
      expect(proxy.output()).toMatch(/stopping \(SIGTERM\)/)
    } finally {
      await sandbox.close()
    }
  })
})

describe('a hard kill while an image is being written', () => {
  it('leaves no partial file under a final name, and the wallet and ledger readable', async () => {
    const home = await tempHome()
    const wallet = await loadWallet({ home })
    const keyBefore = await readFile(join(home, 'wallet.key'), 'utf8')
    const sandbox = await startSandbox({ fund: { [wallet.address]: 100_000_000n }, noise: true, forms: 'b64_json' })
    let killedMidWrite = 0
    try {
      for (let round = 0; round < 4; round++) {
        const proxy = await spawnProxy({ home, upstream: sandbox.url })
        const request = fetch(`${proxy.url}/v1/images/generations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'banana-pro', size: '2048x2048', prompt: `noise ${round}` }) }).catch(() => undefined)
        // Kill the moment a temp file shows up in the store: that is the write in progress.
        const deadline = Date.now() + 20_000
        for (;;) {
          const files = await readdir(join(home, 'images')).catch(() => [] as string[])
          if (files.some((f) => f.startsWith(TEMP_PREFIX))) {
            killedMidWrite++
            break
          }
          if (Date.now() > deadline) break
          await sleep(1)
        }
        await proxy.stop('SIGKILL')
        await request
      }
      const files = await readdir(join(home, 'images'))
      for (const file of files.filter((f) => !f.startsWith(TEMP_PREFIX))) {
        expect(file).toMatch(IMAGE_NAME_PATTERN)
        const stats = await sharp(join(home, 'images', file)).stats() // throws on a truncated PNG
        expect(stats.channels.length).toBeGreaterThan(0)
      }
      expect(killedMidWrite).toBeGreaterThan(0)
      expect(await readFile(join(home, 'wallet.key'), 'utf8')).toBe(keyBefore)
      const ledger = await readLedger(home)
      expect(ledger.length).toBeGreaterThan(0)
    } finally {
      await sandbox.close()
    }
  })
})
