/**
 * The wallet: where the key comes from, how it is created and kept, and how its balance is read.
 * Balances come from a real JSON-RPC server on a loopback port that answers `eth_call` for USDC's
 * `balanceOf` as a Base node would; "offline" is a port nobody listens on, or a server that never
 * answers.
 */
import { execFile, spawn } from 'node:child_process'
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { encodeAbiParameters } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { resolveSettings } from '../server/config.js'
import { startProxy } from '../server/http/server.js'
import { BASE, BASE_SEPOLIA } from '../server/payment/networks.js'
import { readUsdcBalance } from '../server/wallet/balance.js'
import { addressOfKey, newPrivateKey } from '../server/wallet/address.js'
import { loadWallet, WalletKeyError, walletPath } from '../server/wallet/key.js'
import { walletStatus } from '../server/wallet/status.js'
import { proxyWallet, tempHome } from './helpers/stack.js'

const run = promisify(execFile)
const CLI = join(import.meta.dirname, '..', 'dist', 'server', 'cli', 'index.js')
const KEY_FILE = /^0x[0-9a-f]{64}\n$/

const homes: string[] = []
async function home(): Promise<string> {
  const dir = await tempHome('imagegen-wallet-')
  homes.push(dir)
  return dir
}
afterAll(async () => {
  await Promise.all(homes.map((dir) => rm(dir, { recursive: true, force: true })))
})

/** A Base JSON-RPC endpoint that knows one USDC balance per address and records every call. */
type FakeChain = { url: string; calls: Array<{ method: string; to?: string; data?: string }>; close(): Promise<void> }

async function startRpc(balances: Record<string, bigint>, options: { hang?: boolean } = {}): Promise<FakeChain> {
  const calls: FakeChain['calls'] = []
  const server: Server = createServer(async (request: IncomingMessage, response) => {
    const chunks: Buffer[] = []
    for await (const chunk of request) chunks.push(chunk as Buffer)
    if (options.hang) return // never answers: the client's time limit must end the wait
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8'))
    const answer = (one: { id: number; method: string; params: Array<{ to?: string; data?: string }> }) => {
      const call = one.params?.[0] ?? {}
      calls.push({ method: one.method, to: call.to, data: call.data })
      if (one.method === 'eth_chainId') return { jsonrpc: '2.0', id: one.id, result: '0x2105' }
      if (one.method !== 'eth_call') return { jsonrpc: '2.0', id: one.id, error: { code: -32601, message: 'method not found' } }
      // balanceOf(address): selector 0x70a08231 then the address left-padded to 32 bytes.
      const holder = `0x${(call.data ?? '').slice(-40)}`.toLowerCase()
      const balance = Object.entries(balances).find(([address]) => address.toLowerCase() === holder)?.[1] ?? 0n
      return { jsonrpc: '2.0', id: one.id, result: encodeAbiParameters([{ type: 'uint256' }], [balance]) }
    }
    response.setHeader('content-type', 'application/json')
    response.end(JSON.stringify(Array.isArray(body) ? body.map(answer) : answer(body)))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** A loopback URL nobody listens on. */
async function deadUrl(): Promise<string> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return `http://127.0.0.1:${port}`
}

describe('the address of a key, without viem', () => {
  it('equals viem privateKeyToAccount(key).address, checksum included, for random keys and the range ends', async () => {
    const keys: Array<`0x${string}`> = [
      ...Array.from({ length: 200 }, () => generatePrivateKey()),
      ...Array.from({ length: 50 }, () => newPrivateKey()),
      `0x${'00'.repeat(31)}01`,
      // n - 1, the largest valid key
      '0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140',
    ]
    for (const key of keys) expect(addressOfKey(key)).toBe(privateKeyToAccount(key).address)
  })

  it('refuses 0 and n without quoting the key, and the wallet loader says which key', async () => {
    const n = '0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141'
    for (const key of [`0x${'00'.repeat(32)}`, n] as const) {
      const error = (() => {
        try {
          addressOfKey(key)
        } catch (caught) {
          return caught as Error
        }
        return undefined
      })()
      expect(error?.message).toBe('not a valid secp256k1 private key')
    }
    const refused = await loadWallet({ home: await tempHome(), key: n }).catch((caught: unknown) => caught as Error)
    expect(refused).toBeInstanceOf(WalletKeyError)
    expect(String((refused as Error).message)).not.toMatch(/ffffffff|115792089237316195423570985008687907852837564279074904382605163141518161494337/i)
    expect((refused as Error & { cause?: unknown }).cause).toBeUndefined()
  })

  it('builds the signing account only when asked, for the same address', async () => {
    const key = generatePrivateKey()
    const wallet = await loadWallet({ home: await tempHome(), key })
    expect(wallet.address).toBe(privateKeyToAccount(key).address)
    const account = await wallet.account()
    expect(account.address).toBe(wallet.address)
    expect(await wallet.account()).toBe(account)
  })
})

describe('key resolution and creation', () => {
  it('creates a key file: 0x + 64 lower-case hex + newline, mode 0600, in a private home', async () => {
    const dir = await home()
    const wallet = await loadWallet({ home: dir })
    expect(wallet.source).toBe('created')
    expect(wallet.path).toBe(walletPath(dir))
    const text = await readFile(walletPath(dir), 'utf8')
    expect(text).toMatch(KEY_FILE)
    expect(privateKeyToAccount(text.trim() as `0x${string}`).address).toBe(wallet.address)
    expect((await stat(walletPath(dir))).mode & 0o777).toBe(0o600)
    // No temp file with a copy of the key is left behind.
    expect((await readdir(dir)).filter((name) => name.includes('wallet'))).toEqual(['wallet.key'])
  })

  it('creates the home itself private (0700) when it does not exist', async () => {
    const dir = join(await home(), 'nested', 'blockrun')
    await loadWallet({ home: dir })
    expect((await stat(dir)).mode & 0o777).toBe(0o700)
  })

  it('reuses an existing file, unchanged, every time', async () => {
    const dir = await home()
    const first = await loadWallet({ home: dir })
    const text = await readFile(walletPath(dir), 'utf8')
    for (let i = 0; i < 3; i++) {
      const again = await loadWallet({ home: dir })
      expect(again.source).toBe('file')
      expect(again.address).toBe(first.address)
    }
    expect(await readFile(walletPath(dir), 'utf8')).toBe(text)
  })

  it("reuses the file BlockRun's own proxy wrote (same format), including one without a trailing newline", async () => {
    const key = generatePrivateKey()
    for (const content of [`${key}\n`, key, `${key.toUpperCase().replace('0X', '0x')}\r\n`]) {
      const dir = await home()
      await writeFile(walletPath(dir), content, { mode: 0o600 })
      const wallet = await loadWallet({ home: dir })
      expect(wallet.source).toBe('file')
      expect(wallet.address).toBe(privateKeyToAccount(key).address)
    }
  })

  for (const [name, content] of [
    ['garbage', 'not a key\n'],
    ['too short', `0x${'ab'.repeat(31)}\n`],
    ['two keys', `${generatePrivateKey()}\n${generatePrivateKey()}\n`],
    ['empty', ''],
    ['zero key (out of range)', `0x${'0'.repeat(64)}\n`],
  ] as const) {
    it(`a malformed file (${name}) is an error that says so, and is never replaced`, async () => {
      const dir = await home()
      await writeFile(walletPath(dir), content, { mode: 0o600 })
      const error = await loadWallet({ home: dir }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(WalletKeyError)
      expect((error as Error).message).toContain(walletPath(dir))
      expect((error as Error).message).toMatch(/malformed|not a usable private key/)
      expect((error as Error & { cause?: unknown }).cause).toBeUndefined()
      expect(await readFile(walletPath(dir), 'utf8')).toBe(content)
      // Still refused on a second start: nothing "repaired" it in between.
      await expect(loadWallet({ home: dir })).rejects.toBeInstanceOf(WalletKeyError)
      expect(await readFile(walletPath(dir), 'utf8')).toBe(content)
    })
  }

  it('BLOCKRUN_WALLET_KEY wins over the file and creates nothing', async () => {
    const dir = await home()
    const fileWallet = await loadWallet({ home: dir })
    const key = generatePrivateKey()
    const wallet = await loadWallet({ home: dir, key })
    expect(wallet.source).toBe('env')
    expect(wallet.path).toBeUndefined()
    expect(wallet.address).toBe(privateKeyToAccount(key).address)
    expect(wallet.address).not.toBe(fileWallet.address)

    const empty = await home()
    await loadWallet({ home: empty, key: key.slice(2) }) // without 0x is accepted too
    expect(await readdir(empty)).toEqual([])
  })

  it('a bad BLOCKRUN_WALLET_KEY is an error that does not echo it', async () => {
    const dir = await home()
    for (const bad of [`0x${'12'.repeat(31)}`, `0x${'f'.repeat(64)}`]) {
      const error = (await loadWallet({ home: dir, key: bad }).catch((e: unknown) => e)) as Error
      expect(error).toBeInstanceOf(WalletKeyError)
      expect(error.message).toContain('BLOCKRUN_WALLET_KEY')
      expect(error.message.toLowerCase()).not.toContain(bad.slice(2, 20).toLowerCase())
      // noble would print an out-of-range key in decimal; that text must not survive either.
      expect(error.message).not.toContain(BigInt(`0x${'f'.repeat(64)}`).toString().slice(0, 20))
    }
    expect(await readdir(dir)).toEqual([])
  })

  it('the environment variable reaches a running proxy through the settings', async () => {
    const dir = await home()
    await loadWallet({ home: dir }) // a file exists, but the env key must win
    const key = generatePrivateKey()
    const proxy = await startProxy(resolveSettings({ home: dir, port: 0, upstream: await deadUrl() }, { walletKey: key }))
    try {
      expect(await proxyWallet(proxy.url)).toBe(privateKeyToAccount(key).address)
    } finally {
      await proxy.close()
    }
  })

  it('many loads at once in one process agree on one key', async () => {
    const dir = await home()
    const wallets = await Promise.all(Array.from({ length: 20 }, () => loadWallet({ home: dir })))
    expect(new Set(wallets.map((w) => w.address)).size).toBe(1)
    expect(wallets.filter((w) => w.source === 'created')).toHaveLength(1)
  })

  it('separate processes creating the wallet at the same moment agree on one key', async () => {
    const dir = await home()
    const keyModule = join(import.meta.dirname, '..', 'dist', 'server', 'wallet', 'key.js')
    // Each child loads everything first, then waits for the same wall-clock instant: a real race
    // on one file (checked: with a non-exclusive write this test sees several keys).
    const start = Date.now() + 2500
    const script = `
      const { loadWallet } = await import(${JSON.stringify(keyModule)});
      await import('viem/accounts');
      while (Date.now() < ${start} - 20) await new Promise((r) => setTimeout(r, 5));
      while (Date.now() < ${start}) {}
      const w = await loadWallet({ home: ${JSON.stringify(dir)} });
      process.stdout.write(JSON.stringify({ address: w.address, source: w.source }));`
    const children = Array.from({ length: 8 }, () => run(process.execPath, ['--input-type=module', '-e', script]))
    const results = (await Promise.all(children)).map(({ stdout }) => JSON.parse(stdout) as { address: string; source: string })
    expect(new Set(results.map((r) => r.address)).size).toBe(1)
    expect(results.filter((r) => r.source === 'created')).toHaveLength(1)
    const text = await readFile(walletPath(dir), 'utf8')
    expect(text).toMatch(KEY_FILE)
    expect(privateKeyToAccount(text.trim() as `0x${string}`).address).toBe(results[0]!.address)
  })
})

describe('USDC balance', () => {
  const servers: FakeChain[] = []
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()))
  })

  it('reads balanceOf(address) on the USDC contract through the configured RPC', async () => {
    const wallet = await loadWallet({ home: await home() })
    const chain = await startRpc({ [wallet.address]: 12_345_678n })
    servers.push(chain)
    expect(await readUsdcBalance(chain.url, wallet.address, BASE)).toBe(12_345_678n)
    const call = chain.calls.find((c) => c.method === 'eth_call')!
    expect(call.to?.toLowerCase()).toBe(BASE.usdc.toLowerCase())
    expect(call.data).toBe(`0x70a08231${wallet.address.slice(2).toLowerCase().padStart(64, '0')}`)
    // The testnet asks the Sepolia USDC contract.
    await readUsdcBalance(chain.url, wallet.address, BASE_SEPOLIA)
    expect(chain.calls.filter((c) => c.method === 'eth_call').at(-1)!.to?.toLowerCase()).toBe(BASE_SEPOLIA.usdc.toLowerCase())
  })

  it('walletStatus and GET /v1/wallet report address, network, balance and how to fund', async () => {
    const dir = await home()
    const wallet = await loadWallet({ home: dir })
    const chain = await startRpc({ [wallet.address]: 2_500_000n })
    servers.push(chain)
    const settings = resolveSettings({ home: dir, port: 0, upstream: await deadUrl(), rpcUrl: chain.url })
    const status = await walletStatus(settings, wallet.address, wallet.source)
    expect(status).toMatchObject({ address: wallet.address, network: 'eip155:8453', asset: BASE.usdc, balance: '2500000', balanceUsd: '$2.50' })
    expect(status.balanceNote).toBeUndefined()
    expect(status.fund).toContain('Fund your wallet with USDC on Base at blockrun.ai')
    expect(status.fund).toContain(wallet.address)

    const proxy = await startProxy(settings)
    try {
      const response = await fetch(`${proxy.url}/v1/wallet`)
      expect(response.status).toBe(200)
      expect(await response.json()).toMatchObject({ address: wallet.address, balance: '2500000', balanceUsd: '$2.50' })
    } finally {
      await proxy.close()
    }
  })

  it('`imagegen wallet` (a child process) reads BASE_RPC_URL', async () => {
    const dir = await home()
    const wallet = await loadWallet({ home: dir })
    const chain = await startRpc({ [wallet.address]: 70_000n })
    servers.push(chain)
    // No test reaches the internet: the upstream asked for its network is a closed local port.
    const env = { ...process.env, BLOCKRUN_HOME: dir, BASE_RPC_URL: chain.url, BLOCKRUN_PROXY_PORT: '0', BLOCKRUN_API_URL: await deadUrl() }
    const json = JSON.parse((await run(process.execPath, [CLI, 'wallet', '--json'], { env })).stdout)
    expect(json).toMatchObject({ address: wallet.address, balance: '70000', balanceUsd: '$0.07', source: 'file' })
    const text = (await run(process.execPath, [CLI, 'wallet'], { env })).stdout
    expect(text).toContain(wallet.address)
    expect(text).toContain('$0.07')
    expect(text).toContain('blockrun.ai')
  })

  it('offline: "balance unavailable", fast, instead of failing', async () => {
    const dir = await home()
    const wallet = await loadWallet({ home: dir })
    const settings = resolveSettings({ home: dir, port: 0, rpcUrl: await deadUrl() })
    const started = Date.now()
    const status = await walletStatus(settings, wallet.address, wallet.source)
    expect(Date.now() - started).toBeLessThan(1000)
    expect(status.balance).toBeNull()
    expect(status.balanceUsd).toBeNull()
    expect(status.balanceNote).toMatch(/^balance unavailable/)
    expect(status.address).toBe(wallet.address)

    const env = { ...process.env, BLOCKRUN_HOME: dir, BASE_RPC_URL: await deadUrl(), BLOCKRUN_PROXY_PORT: '0', BLOCKRUN_API_URL: await deadUrl() }
    const cli = spawn(process.execPath, [CLI, 'wallet'], { env })
    let out = ''
    cli.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
    const code = await new Promise<number | null>((resolve) => cli.on('close', resolve))
    expect(code).toBe(0)
    // Said once: "balance  unavailable (why)", not "balance  balance unavailable".
    expect(out).toMatch(/^balance  unavailable \(the Base RPC could not be reached; set BASE_RPC_URL/m)
    expect(out).toContain(wallet.address)
  })

  it('an RPC that accepts the connection but never answers is cut off by the time limit', async () => {
    const wallet = await loadWallet({ home: await home() })
    const chain = await startRpc({}, { hang: true })
    servers.push(chain)
    const started = Date.now()
    expect(await readUsdcBalance(chain.url, wallet.address, BASE, 400)).toBeUndefined()
    const elapsed = Date.now() - started
    expect(elapsed).toBeGreaterThanOrEqual(350)
    expect(elapsed).toBeLessThan(2000)
  })

  it('a malformed wallet file stops the proxy from starting, with the reason, and the file survives', async () => {
    const dir = await home()
    await mkdir(dir, { recursive: true })
    await writeFile(walletPath(dir), 'oops\n')
    const env = { ...process.env, BLOCKRUN_HOME: dir, BLOCKRUN_PROXY_PORT: '0' }
    const result = await run(process.execPath, [CLI, 'wallet'], { env }).catch((error: { code: number; stderr: string }) => error)
    expect((result as { code: number }).code).toBe(1)
    expect((result as { stderr: string }).stderr).toContain('malformed')
    expect(await readFile(walletPath(dir), 'utf8')).toBe('oops\n')
  })
})
