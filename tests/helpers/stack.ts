/**
 * Test stacks: a sandbox upstream on a real port, a funded wallet in a throwaway home, and the
 * real proxy in front. Nothing is mocked; tests talk HTTP to real sockets.
 */
import { request } from 'node:http'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { resolveSettings, type SettingsInput } from '../../server/config.js'
import { startProxy, type RunningProxy } from '../../server/http/server.js'
import { parseUsd } from '../../server/money.js'
import { SOLANA_DEVNET } from '../../server/payment/networks.js'
import type { SandboxOptions } from '../../server/sandbox/app.js'
import { startSandbox, type RunningSandbox } from '../../server/sandbox/server.js'
import { loadWallet, type Wallet } from '../../server/wallet/key.js'

export type JsonResponse = { status: number; body: any; headers: Headers }

export type Stack = {
  home: string
  wallet: Wallet
  sandbox: RunningSandbox
  proxy: RunningProxy
  /** POST JSON (or a raw string) to the proxy. */
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<JsonResponse>
  get(path: string, headers?: Record<string, string>): Promise<Response>
  close(): Promise<void>
}

export type StackOptions = {
  sandbox?: SandboxOptions
  settings?: SettingsInput
  /** Test USDC for the wallet, dollars (default 10; "0" for an unfunded wallet). */
  fund?: string
  /**
   * The chain that pays (default base). `solana`: the home holds a new BIP-39 mnemonic, as a
   * ClawRouter install has, the sandbox asks for Solana devnet USDC, and the proxy's Solana RPC is
   * the sandbox's.
   */
  chain?: 'base' | 'solana'
}

/** The wallet a proxy pays from, as its identity answer names it (/health does not). */
export async function proxyWallet(baseUrl: string, headers: Record<string, string> = {}): Promise<string> {
  const response = await fetch(`${baseUrl}/v1/identity?nonce=${'0'.repeat(64)}`, { headers })
  const body = (await response.json()) as { wallet?: string }
  if (!body.wallet) throw new Error(`no wallet in ${baseUrl}/v1/identity: ${JSON.stringify(body)}`)
  return body.wallet
}

/** A GET with a Host header of our choosing (fetch will not send one), as a rebinding browser would: the status. */
export function statusWithHost(url: string, host: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { ...headers, host } }, (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
    })
    req.on('error', reject)
    req.end()
  })
}

export async function tempHome(prefix = 'imagegen-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix))
}

export async function readJsonResponse(response: Response): Promise<JsonResponse> {
  const text = await response.text()
  let body: unknown = text
  try {
    body = JSON.parse(text)
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, body, headers: response.headers }
}

/** Writes a new BIP-39 mnemonic into `home`, as ClawRouter does for a new install (mode 0600). */
export async function writeMnemonic(home: string, mnemonic?: string): Promise<string> {
  const { generateMnemonic } = await import('@scure/bip39')
  const { wordlist } = await import('@scure/bip39/wordlists/english')
  const phrase = mnemonic ?? generateMnemonic(wordlist, 256)
  await writeFile(join(home, 'mnemonic'), `${phrase}\n`, { mode: 0o600 })
  return phrase
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const home = await tempHome()
  const solana = options.chain === 'solana'
  if (solana) await writeMnemonic(home)
  const wallet = await loadWallet({ home })
  const fund = parseUsd(options.fund ?? '10')
  const payer = solana ? wallet.solana!.address : wallet.address
  const sandbox = await startSandbox({ jobMs: 50, ...(solana ? { network: SOLANA_DEVNET } : {}), ...options.sandbox, fund: fund > 0n ? { [payer]: fund } : {} })
  // No test reaches the internet: balance reads (payment errors only) go to a closed local port.
  // Jobs are polled every 50 ms rather than BlockRun's 3 s, so tests of jobs take milliseconds;
  // tests of the cadence itself set pollIntervalSeconds.
  const chainSettings: SettingsInput = solana ? { paymentChain: 'solana', solanaRpcUrl: 'http://127.0.0.1:9', solanaDevnetRpcUrl: sandbox.rpcUrl } : {}
  const proxy = await startProxy(
    resolveSettings({ home, upstream: sandbox.url, port: 0, rpcUrl: 'http://127.0.0.1:9', sepoliaRpcUrl: 'http://127.0.0.1:9', pollIntervalSeconds: 0.05, ...chainSettings, ...options.settings }),
  )
  return {
    home,
    wallet,
    sandbox,
    proxy,
    async post(path, body, headers = {}) {
      const response = await fetch(`${proxy.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      })
      return readJsonResponse(response)
    },
    get: (path, headers = {}) => fetch(`${proxy.url}${path}`, { headers }),
    async close() {
      await proxy.close()
      await sandbox.close()
      await rm(home, { recursive: true, force: true })
    },
  }
}

/**
 * A stack for running the CLI against: a `work` folder to run it in, and the environment that
 * points it at the sandbox with the stack's home, running the pipeline in-process (port 0).
 */
export async function startCliStack(options: StackOptions = {}): Promise<{ stack: Stack; work: string; env: Record<string, string> }> {
  const stack = await startStack(options)
  const work = join(stack.home, 'work')
  await mkdir(work)
  return { stack, work, env: { BLOCKRUN_HOME: stack.home, BLOCKRUN_API_URL: stack.sandbox.url, BLOCKRUN_PROXY_PORT: '0', HOME: stack.home } }
}
