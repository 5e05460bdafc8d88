/**
 * ClawRouter's wallet files, read as ClawRouter reads them (issue #17): the addresses a mnemonic
 * gives, checked against published vectors and against derivations written independently here
 * (@scure/bip32 + viem for EVM, a SLIP-10 over @noble's HMAC and ed25519 for Solana); the three
 * shapes a ClawRouter home comes in; the chain choice; and the Solana key from the environment.
 */
import { execFile } from 'node:child_process'
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { inspect, promisify } from 'node:util'
import { ed25519 } from '@noble/curves/ed25519'
import { hmac } from '@noble/hashes/hmac'
import { sha512 } from '@noble/hashes/sha512'
import { base58 } from '@scure/base'
import { HDKey } from '@scure/bip32'
import { mnemonicToSeedSync } from '@scure/bip39'
import { privateKeyToAccount } from 'viem/accounts'
import { afterAll, describe, expect, it } from 'vitest'
import { resolveSettings, settingsFromEnv } from '../server/config.js'
import { startProxy } from '../server/http/server.js'
import { openCore } from '../server/core/index.js'
import { walletStatusTool } from '../plugin/tools.js'
import { SOLANA_UPSTREAM } from '../server/payment/chain.js'
import { SOLANA_DEVNET } from '../server/payment/networks.js'
import { startSandbox } from '../server/sandbox/server.js'
import { loadWallet, WalletKeyError } from '../server/wallet/key.js'
import { walletStatus } from '../server/wallet/status.js'
import { tempHome } from './helpers/stack.js'

const run = promisify(execFile)
const CLI = join(import.meta.dirname, '..', 'dist', 'server', 'cli', 'index.js')

/** The BIP-39 test mnemonic (Trezor's vectors), and the addresses every BIP-44 wallet shows for it. */
const ABANDON = 'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about'
const ABANDON_EVM = '0x9858EfFD232B4033E47d90003D41EC34EcaEda94'
/** Phantom / Solflare (m/44'/501'/0'/0'), as public wallet test suites pin it. */
const ABANDON_SOLANA = 'HAgk14JpMQLgt6rVgv7cBQFJWFto5Dqxi472uT3DKpqk'
/** ClawRouter's own vector (src/wallet.test.ts): 23 × abandon + art → this SLIP-10 key and address. */
const ART = `${'abandon '.repeat(23)}art`
const ART_SOLANA_KEY = '7c139e1a603ca04f5f7cff194e1bb6f6d1b9098470ea90695ab628488a9f921b'
const ART_SOLANA = '3Cy3YNTFywCmxoxt8n7UH6hg6dLo5uACowX3CFceaSnx'

/** EVM, independently: @scure/bip32 at m/44'/60'/0'/0/0, address by viem. */
function independentEvm(mnemonic: string): { key: `0x${string}`; address: string } {
  const child = HDKey.fromMasterSeed(mnemonicToSeedSync(mnemonic)).derive("m/44'/60'/0'/0/0")
  const key = `0x${Buffer.from(child.privateKey!).toString('hex')}` as const
  return { key, address: privateKeyToAccount(key).address }
}

/** Solana, independently: SLIP-10 ed25519 over @noble's HMAC-SHA512, public key by @noble's ed25519. */
function independentSolana(mnemonic: string): { key: string; address: string } {
  let I = hmac(sha512, new TextEncoder().encode('ed25519 seed'), mnemonicToSeedSync(mnemonic))
  for (const index of [44, 501, 0, 0]) {
    const data = new Uint8Array(37)
    data.set(I.slice(0, 32), 1)
    new DataView(data.buffer).setUint32(33, (index | 0x80000000) >>> 0)
    I = hmac(sha512, I.slice(32), data)
  }
  const key = I.slice(0, 32)
  return { key: Buffer.from(key).toString('hex'), address: base58.encode(ed25519.getPublicKey(key)) }
}

const homes: string[] = []
async function home(files: Record<string, string> = {}): Promise<string> {
  const dir = await tempHome('imagegen-solana-wallet-')
  homes.push(dir)
  for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content, { mode: 0o600 })
  return dir
}
afterAll(async () => {
  for (const dir of homes) await rm(dir, { recursive: true, force: true })
})

describe('derivation from a BIP-39 mnemonic', () => {
  it('the test mnemonic gives the published addresses, equal to independent derivations', async () => {
    expect(independentEvm(ABANDON).address).toBe(ABANDON_EVM)
    expect(independentSolana(ABANDON).address).toBe(ABANDON_SOLANA)
    const wallet = await loadWallet({ home: await home({ mnemonic: `${ABANDON}\n` }) })
    expect(wallet.address).toBe(ABANDON_EVM)
    expect(wallet.source).toBe('mnemonic')
    expect(wallet.solana?.address).toBe(ABANDON_SOLANA)
    expect(wallet.solana?.source).toBe('mnemonic')
  })

  it("ClawRouter's published vector: the SLIP-10 key and the address its signer shows", async () => {
    expect(independentSolana(ART)).toEqual({ key: ART_SOLANA_KEY, address: ART_SOLANA })
    const wallet = await loadWallet({ home: await home({ mnemonic: `${ART}\n` }) })
    expect(wallet.solana?.address).toBe(ART_SOLANA)
    // @solana/kit's own key pair signer, as ClawRouter builds it, agrees.
    expect((await wallet.solana!.signer()).address).toBe(ART_SOLANA)
    expect(wallet.address).toBe(independentEvm(ART).address)
  })

  it('random 24-word mnemonics: both keys equal the independent derivations, and the EVM account signs as its address', async () => {
    const { generateMnemonic } = await import('@scure/bip39')
    const { wordlist } = await import('@scure/bip39/wordlists/english')
    for (let i = 0; i < 5; i++) {
      const mnemonic = generateMnemonic(wordlist, 256)
      const wallet = await loadWallet({ home: await home({ mnemonic }) })
      expect(wallet.address).toBe(independentEvm(mnemonic).address)
      expect(wallet.solana?.address).toBe(independentSolana(mnemonic).address)
      expect((await wallet.account()).address).toBe(wallet.address)
    }
  })
})

describe('ClawRouter-style homes', () => {
  it('mnemonic + wallet.key + payment-chain=solana: EVM from wallet.key, Solana from the mnemonic, paying on Solana through sol.blockrun.ai', async () => {
    const evm = independentEvm(ART)
    const dir = await home({ mnemonic: `${ABANDON}\n`, 'wallet.key': `${evm.key}\n`, 'payment-chain': 'solana\n' })
    const wallet = await loadWallet({ home: dir })
    expect(wallet).toMatchObject({ address: evm.address, source: 'file', path: join(dir, 'wallet.key') })
    expect(wallet.solana?.address).toBe(ABANDON_SOLANA)
    const settings = resolveSettings({ home: dir })
    expect(settings.paymentChain).toBe('solana')
    expect(settings.paymentChainSource).toBe(join(dir, 'payment-chain'))
    expect(settings.upstream).toBe(SOLANA_UPSTREAM)
    expect(settings.policy.networks.map((n) => n.caip2)).toEqual(['solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp', SOLANA_DEVNET.caip2])
  })

  it('mnemonic alone: both keys from it, and no wallet.key is written', async () => {
    const dir = await home({ mnemonic: `${ABANDON}\n` })
    const wallet = await loadWallet({ home: dir })
    expect(wallet).toMatchObject({ address: ABANDON_EVM, source: 'mnemonic', path: join(dir, 'mnemonic') })
    await expect(stat(join(dir, 'wallet.key'))).rejects.toMatchObject({ code: 'ENOENT' })
    // No payment-chain file: ClawRouter's default, Base.
    expect(resolveSettings({ home: dir }).paymentChain).toBe('base')
  })

  it('wallet.key and an unrelated, newer mnemonic (an older install that opted into Solana): both kept, never refused', async () => {
    const { key, address } = independentEvm(ART)
    const dir = await home({ 'wallet.key': `${key}\n`, mnemonic: `${ABANDON}\n` })
    const wallet = await loadWallet({ home: dir })
    expect(wallet.address).toBe(address)
    expect(wallet.address).not.toBe(ABANDON_EVM)
    expect(wallet.solana?.address).toBe(ABANDON_SOLANA)
    expect(await readFile(join(dir, 'wallet.key'), 'utf8')).toBe(`${key}\n`)
  })

  it('never creates a key while a mnemonic exists, even a malformed one; with wallet.key, a malformed mnemonic only costs the Solana side', async () => {
    const broken = await home({ mnemonic: 'abandon abandon abandon\n' })
    const error = await loadWallet({ home: broken }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(WalletKeyError)
    expect((error as Error).message).toMatch(/No new key was created/)
    expect((error as Error).message).not.toContain('abandon')
    await expect(stat(join(broken, 'wallet.key'))).rejects.toMatchObject({ code: 'ENOENT' })

    const { key, address } = independentEvm(ART)
    const withKey = await home({ 'wallet.key': `${key}\n`, mnemonic: 'not a mnemonic at all\n' })
    const wallet = await loadWallet({ home: withKey })
    expect(wallet.address).toBe(address)
    expect(wallet.solana).toBeUndefined()
    expect(wallet.solanaNote).toMatch(/not a valid BIP-39/)
  })

  it('a Base-only home behaves as before: a new wallet.key, no Solana side, the same wallet report', async () => {
    const dir = await home()
    const wallet = await loadWallet({ home: dir })
    expect(wallet.source).toBe('created')
    expect(wallet.solana).toBeUndefined()
    const settings = resolveSettings({ home: dir, rpcUrl: 'http://127.0.0.1:9' })
    expect(settings.paymentChain).toBe('base')
    expect(settings.upstream).toBe('https://blockrun.ai/api')
    expect(settings.policy.networks.map((n) => n.caip2)).toEqual(['eip155:8453', 'eip155:84532'])
    const status = await walletStatus(settings, wallet)
    expect(status).toMatchObject({ address: wallet.address, network: 'eip155:8453', paymentChain: 'base' })
    expect(status.accounts).toHaveLength(1)
  })
})

describe('the Solana key from the environment', () => {
  const secret = (privateKey: Uint8Array) => Uint8Array.from([...privateKey, ...ed25519.getPublicKey(privateKey)])

  it('BLOCKRUN_SOLANA_KEY (base58, hex or a JSON byte array) wins over the mnemonic; SOLANA_WALLET_KEY (BlockRun SDK) is read too', async () => {
    const privateKey = ed25519.utils.randomPrivateKey()
    const address = base58.encode(ed25519.getPublicKey(privateKey))
    const dir = await home({ mnemonic: `${ABANDON}\n` })
    for (const form of [base58.encode(secret(privateKey)), Buffer.from(secret(privateKey)).toString('hex'), JSON.stringify([...secret(privateKey)])]) {
      const wallet = await loadWallet({ home: dir, solanaKey: form })
      expect(wallet.solana).toMatchObject({ address, source: 'env' })
      expect(wallet.address).toBe(ABANDON_EVM)
    }
    expect(settingsFromEnv({ SOLANA_WALLET_KEY: 'x' }).solanaKey).toBe('x')
    expect(settingsFromEnv({ SOLANA_WALLET_KEY: 'x', BLOCKRUN_SOLANA_KEY: 'y' }).solanaKey).toBe('y')
  })

  it('refuses an EVM-format key and an inconsistent one, without quoting it; the key is redacted in settings', async () => {
    const dir = await home()
    const evmKey = independentEvm(ART).key
    const first = await loadWallet({ home: dir, solanaKey: evmKey }).catch((e: Error) => e)
    expect(first).toBeInstanceOf(WalletKeyError)
    expect((first as Error).message).toMatch(/EVM \(Base\) key format/)
    expect((first as Error).message).not.toContain(evmKey.slice(2))
    const glued = Uint8Array.from([...ed25519.utils.randomPrivateKey(), ...ed25519.getPublicKey(ed25519.utils.randomPrivateKey())])
    const second = await loadWallet({ home: dir, solanaKey: base58.encode(glued) }).catch((e: Error) => e)
    expect((second as Error).message).toMatch(/not a consistent Solana secret key/)
    expect((second as Error).message).not.toContain(base58.encode(glued))
    const settings = resolveSettings({ home: dir, solanaKey: base58.encode(glued) })
    expect(JSON.stringify(settings, (_key, value: unknown) => (typeof value === 'bigint' ? String(value) : value))).not.toContain(base58.encode(glued))
    expect(inspect(settings, { depth: 5 })).not.toContain(base58.encode(glued))
    expect(settings.solanaKey).toBe(base58.encode(glued))
  })
})

describe('the chain that pays', () => {
  it('setting > CLAWROUTER_PAYMENT_CHAIN > payment-chain file > base, and the upstream follows unless set', async () => {
    const dir = await home({ 'payment-chain': 'solana\n' })
    expect(resolveSettings({ home: dir }).paymentChain).toBe('solana')
    expect(resolveSettings({ home: dir }, settingsFromEnv({ CLAWROUTER_PAYMENT_CHAIN: 'base' })).paymentChain).toBe('base')
    // ClawRouter ignores values it does not know; so do we, for its variable.
    expect(resolveSettings({ home: dir }, settingsFromEnv({ CLAWROUTER_PAYMENT_CHAIN: 'eth' })).paymentChain).toBe('solana')
    expect(resolveSettings({ home: dir }, settingsFromEnv({ BLOCKRUN_PAYMENT_CHAIN: 'base', CLAWROUTER_PAYMENT_CHAIN: 'solana' })).paymentChain).toBe('base')
    expect(resolveSettings({ home: dir, paymentChain: 'base' }).upstream).toBe('https://blockrun.ai/api')
    expect(() => resolveSettings({ home: dir, paymentChain: 'ethereum' })).toThrow(/expected base or solana/)
  })

  it('a chain and a BlockRun upstream of the other chain are refused at start; another host is the user\'s call', async () => {
    const dir = await home()
    expect(() => resolveSettings({ home: dir, paymentChain: 'solana', upstream: 'https://blockrun.ai/api' })).toThrow(/Nothing is paid on a chain you did not choose/)
    expect(() => resolveSettings({ home: dir, paymentChain: 'base', upstream: 'https://sol.blockrun.ai/api' })).toThrow(/BlockRun's Solana gateway/)
    expect(() => resolveSettings({ home: dir, paymentChain: 'base', networks: SOLANA_DEVNET.caip2 })).toThrow(/not on the payment chain base/)
    expect(resolveSettings({ home: dir, paymentChain: 'solana', upstream: 'http://127.0.0.1:9402/api' }).upstream).toBe('http://127.0.0.1:9402/api')
  })

  it('Solana chosen but no Solana key: the proxy refuses to start, saying how to fix it', async () => {
    const dir = await home()
    const error = await startProxy(resolveSettings({ home: dir, port: 0, paymentChain: 'solana', upstream: 'http://127.0.0.1:9/api' })).catch((e: Error) => e)
    expect(error).toBeInstanceOf(Error)
    expect((error as Error).message).toMatch(/no Solana key.*BLOCKRUN_SOLANA_KEY.*BLOCKRUN_PAYMENT_CHAIN=base/)
  })
})

describe('the wallet report shows both accounts', () => {
  it('`imagegen wallet` (a child process): both addresses and balances, which chain pays; an unreachable RPC reads "unavailable"', async () => {
    const dir = await home({ mnemonic: `${ABANDON}\n`, 'payment-chain': 'solana\n' })
    const sandbox = await startSandbox({ network: SOLANA_DEVNET, fund: { [ABANDON_SOLANA]: 3_250_000n } })
    try {
      const env = { ...process.env, BLOCKRUN_HOME: dir, BLOCKRUN_PROXY_PORT: '0', BLOCKRUN_API_URL: sandbox.url, BLOCKRUN_ALLOWED_NETWORKS: SOLANA_DEVNET.caip2, SOLANA_DEVNET_RPC_URL: sandbox.rpcUrl, BASE_RPC_URL: 'http://127.0.0.1:9' }
      const json = JSON.parse((await run(process.execPath, [CLI, 'wallet', '--json'], { env })).stdout)
      expect(json).toMatchObject({ address: ABANDON_SOLANA, network: SOLANA_DEVNET.caip2, balance: '3250000', balanceUsd: '$3.25', paymentChain: 'solana' })
      expect(json.accounts).toEqual([
        expect.objectContaining({ chain: 'solana', address: ABANDON_SOLANA, balance: '3250000', paying: true, source: 'mnemonic' }),
        expect.objectContaining({ chain: 'base', address: ABANDON_EVM, balance: null, balanceNote: expect.stringMatching(/^balance unavailable.*BASE_RPC_URL/), paying: false }),
      ])
      expect(json.fund).toContain(ABANDON_SOLANA)
      expect(json.fund).toContain('BLOCKRUN_PAYMENT_CHAIN=base')
      const text = (await run(process.execPath, [CLI, 'wallet'], { env })).stdout
      expect(text).toContain('pays on  Solana')
      expect(text).toContain(ABANDON_EVM)
      expect(text).toMatch(new RegExp(`solana   ${ABANDON_SOLANA}  \\$3\\.25  \\(pays\\)`))
      // Offline: the Solana balance reads "unavailable", quickly.
      const started = Date.now()
      const offline = JSON.parse((await run(process.execPath, [CLI, 'wallet', '--json'], { env: { ...env, SOLANA_DEVNET_RPC_URL: 'http://127.0.0.1:9' } })).stdout)
      expect(Date.now() - started).toBeLessThan(5000)
      expect(offline.balanceNote).toMatch(/^balance unavailable \(the Solana devnet RPC could not be reached; set SOLANA_DEVNET_RPC_URL/)
    } finally {
      await sandbox.close()
    }
  })

  it('the wallet_status tool names the paying chain and both accounts', async () => {
    const dir = await home({ mnemonic: `${ABANDON}\n` })
    const sandbox = await startSandbox({ network: SOLANA_DEVNET, fund: { [ABANDON_SOLANA]: 1_500_000n } })
    const core = await openCore(resolveSettings({ home: dir, port: 0, paymentChain: 'solana', upstream: sandbox.url, networks: SOLANA_DEVNET.caip2, solanaDevnetRpcUrl: sandbox.rpcUrl, rpcUrl: 'http://127.0.0.1:9' }))
    try {
      const result = await walletStatusTool.execute(core, { days: 1 }, {})
      expect(result.text).toContain(`Wallet ${ABANDON_SOLANA} on ${SOLANA_DEVNET.caip2}, the network the upstream asks payments on.`)
      expect(result.text).toContain('Balance: $1.50 USDC.')
      expect(result.text).toContain('Pays on Solana.')
      expect(result.text).toContain(`Base ${ABANDON_EVM}: unavailable (the Base RPC could not be reached`)
      expect(result.text).toContain(`Solana ${ABANDON_SOLANA}: $1.50 USDC (pays).`)
    } finally {
      await core.close()
      await sandbox.close()
    }
  })

  it('a mnemonic home paying on Base still shows the Solana account', async () => {
    const dir = await home({ mnemonic: `${ABANDON}\n` })
    await mkdir(dir, { recursive: true })
    const settings = resolveSettings({ home: dir, rpcUrl: 'http://127.0.0.1:9', solanaRpcUrl: 'http://127.0.0.1:9' })
    const status = await walletStatus(settings, await loadWallet({ home: dir }))
    expect(status).toMatchObject({ address: ABANDON_EVM, paymentChain: 'base' })
    expect(status.accounts.map((a) => [a.chain, a.address, a.paying])).toEqual([
      ['base', ABANDON_EVM, true],
      ['solana', ABANDON_SOLANA, false],
    ])
  })
})
