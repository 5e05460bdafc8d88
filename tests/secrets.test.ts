/**
 * The private key never appears in logs, errors, responses, process titles or crash output.
 *
 * Everything the tests can see is captured (child-process stdout and stderr from start to
 * shutdown, every HTTP body and header, process command lines, crash dumps, files the proxy wrote)
 * and searched for the key: as hex with and without 0x in any case, any 24-digit stretch of it
 * (a truncated print), in decimal (how noble reports a bad key), and base64 of its bytes.
 */
import { execFile } from 'node:child_process'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawnProxy } from './helpers/processes.js'
import { startSandbox, type RunningSandbox } from '../server/sandbox/server.js'
import { tempHome } from './helpers/stack.js'

const run = promisify(execFile)
const DIST = join(import.meta.dirname, '..', 'dist', 'server')
const CLI = join(DIST, 'cli', 'index.js')
const OFFLINE_RPC = { BASE_RPC_URL: 'http://127.0.0.1:9', BASE_SEPOLIA_RPC_URL: 'http://127.0.0.1:9' }

/** Every form of `key` a leak could take. */
function needles(key: `0x${string}`): string[] {
  const hex = key.slice(2).toLowerCase()
  const windows = Array.from({ length: hex.length - 23 }, (_, i) => hex.slice(i, i + 24))
  return [hex, ...windows, BigInt(key).toString(), Buffer.from(hex, 'hex').toString('base64'), Buffer.from(hex, 'hex').toString('base64url')]
}

/** Fails naming the first capture that contains the key in any form. */
function expectNoKey(key: `0x${string}`, captures: Record<string, string>) {
  const forms = needles(key)
  for (const [where, text] of Object.entries(captures)) {
    const lower = text.toLowerCase()
    const found = forms.find((form) => (/^[0-9a-f]+$/.test(form) ? lower.includes(form) : text.includes(form)))
    expect(found, `the key appeared in ${where}`).toBeUndefined()
  }
}

/** Runs a CLI command to completion, keeping stdout, stderr and the exit code whatever happens. */
async function cli(args: string[], env: Record<string, string>): Promise<string> {
  const result = await run(process.execPath, [CLI, ...args], { env: { ...process.env, ...OFFLINE_RPC, ...env } }).catch((error: { stdout: string; stderr: string; code: number }) => error)
  return `exit ${(result as { code?: number }).code ?? 0}\n${result.stdout}\n${result.stderr}`
}

/** Everything a client can make the proxy say: successes, refusals, payment errors, upstream faults. */
async function exercise(base: string): Promise<Record<string, string>> {
  const captures: Record<string, string> = {}
  const record = async (name: string, path: string, init?: RequestInit) => {
    const response = await fetch(`${base}${path}`, init)
    const headers = [...response.headers].map(([k, v]) => `${k}: ${v}`).join('\n')
    captures[name] = `${response.status}\n${headers}\n${await response.text()}`
    return response.status
  }
  const post = (body: unknown) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) })
  await record('GET /health', '/health')
  await record('GET /v1/wallet', '/v1/wallet')
  await record('GET /v1/models', '/v1/models')
  expect(await record('generation (paid)', '/v1/images/generations', post({ model: 'gpt-image', size: '1536x1024', prompt: 'a secret-free picture' }))).toBe(200)
  expect(await record('generation (insufficient funds)', '/v1/images/generations', post({ model: 'gpt-image', prompt: 'no money left', size: '1536x1024' }))).toBe(402)
  expect(await record('generation (over the cap)', '/v1/images/generations', post({ model: 'banana-pro', n: 4, prompt: 'too dear' }))).toBe(402)
  await record('generation (upstream 5xx before pay)', '/v1/images/generations', post({ model: 'dall-e-3', prompt: 'x [fault:error-before-pay]' }))
  await record('generation (malformed 402)', '/v1/images/generations', post({ model: 'gpt-image', prompt: 'x [fault:malformed-402]' }))
  await record('bad JSON', '/v1/images/generations', post('{"prompt": '))
  await record('bad size', '/v1/images/generations', post({ prompt: 'x', size: '3x3' }))
  await record('unknown route', '/v1/secrets')
  await record('GET /v1/usage', '/v1/usage?days=7')
  return captures
}

/** Every file under `dir`, as text, except the ones named in `skip`. */
async function filesUnder(dir: string, skip: string[] = []): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || skip.includes(entry.name)) continue
    const path = join(entry.parentPath, entry.name)
    out[`file ${path}`] = (await readFile(path)).toString('latin1')
  }
  return out
}

async function commandLine(pid: number): Promise<string> {
  const proc = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')
  const ps = await run('ps', ['-o', 'args=', '-p', String(pid)]).then((r) => r.stdout, () => '')
  return `${proc.replaceAll('\0', ' ')}\n${ps}`
}

describe('the key never shows', () => {
  let sandbox: RunningSandbox
  const envKey = generatePrivateKey()
  const fileKey = generatePrivateKey()
  beforeAll(async () => {
    // Each wallet can afford exactly one $0.043 image (gpt-image at 1536x1024), so the second request fails for funds.
    sandbox = await startSandbox({ jobMs: 50, fund: { [privateKeyToAccount(envKey).address]: 50_000n, [privateKeyToAccount(fileKey).address]: 50_000n } })
  })
  afterAll(async () => sandbox.close())

  for (const source of ['env', 'file'] as const) {
    it(`key from ${source === 'env' ? 'BLOCKRUN_WALLET_KEY' : 'wallet.key'}: proxy output, HTTP answers, command line, CLI commands, files`, async () => {
      const key = source === 'env' ? envKey : fileKey
      const home = await tempHome()
      if (source === 'file') await writeFile(join(home, 'wallet.key'), `${key}\n`, { mode: 0o600 })
      const env = { BLOCKRUN_HOME: home, BLOCKRUN_API_URL: sandbox.url, BLOCKRUN_MAX_PER_REQUEST: '0.20', ...(source === 'env' ? { BLOCKRUN_WALLET_KEY: key } : {}) }
      const proxy = await spawnProxy({ env: { ...OFFLINE_RPC, ...env } })
      let captures: Record<string, string> = {}
      try {
        const health = await (await fetch(`${proxy.url}/health`)).json()
        expect(health.wallet).toBe(privateKeyToAccount(key).address) // the right wallet is in use
        captures = await exercise(proxy.url)
        expect(captures['generation (insufficient funds)']).toContain('insufficient_funds')
        captures['command line'] = await commandLine(proxy.child.pid!)
        // One-shot commands, through the running proxy and on their own.
        captures['imagegen wallet (via proxy)'] = await cli(['wallet', '--json'], { ...env, BLOCKRUN_PROXY_PORT: String(proxy.port) })
        captures['imagegen wallet'] = await cli(['wallet'], { ...env, BLOCKRUN_PROXY_PORT: '0' })
        captures['imagegen usage'] = await cli(['usage', '--days', '3'], { ...env, BLOCKRUN_PROXY_PORT: '0' })
        captures['imagegen generate (refused)'] = await cli(['generate', 'a cat', '--model', 'flux'], { ...env, BLOCKRUN_PROXY_PORT: '0' })
        expect(captures['imagegen generate (refused)']).toMatch(/exit [1-9]/)
        // Starting a second proxy on the same port fails: its crash output counts too.
        captures['serve on a busy port'] = await cli(['serve', '--port', String(proxy.port)], env)
        expect(captures['serve on a busy port']).toMatch(/exit [1-9]/)
      } finally {
        await proxy.stop()
      }
      captures['proxy stdout+stderr, start to shutdown'] = proxy.output()
      expect(proxy.output()).toContain('imagegen proxy stopping')
      Object.assign(captures, await filesUnder(home, ['wallet.key']))
      expect(Object.keys(captures).some((name) => name.endsWith('ledger.jsonl'))).toBe(true)
      expectNoKey(key, captures)
    })
  }

  it('bad settings and bad keys: error output names the problem, not the key', async () => {
    const home = await tempHome()
    const key = generatePrivateKey()
    const captures: Record<string, string> = {
      'bad setting': await cli(['wallet'], { BLOCKRUN_HOME: home, BLOCKRUN_WALLET_KEY: key, BLOCKRUN_MAX_PER_REQUEST: 'lots', BLOCKRUN_PROXY_PORT: '0' }),
      'bad flag': await cli(['usage', '--daily-budget', 'many'], { BLOCKRUN_HOME: home, BLOCKRUN_WALLET_KEY: key, BLOCKRUN_PROXY_PORT: '0' }),
    }
    expect(captures['bad setting']).toContain('max per request')
    expectNoKey(key, captures)

    // Keys that are wrong in themselves: out of range (noble would print it in decimal), one digit short.
    for (const bad of [`0x${'f'.repeat(64)}`, `${key.slice(0, -1)}`] as const) {
      const output = await cli(['wallet'], { BLOCKRUN_HOME: home, BLOCKRUN_WALLET_KEY: bad, BLOCKRUN_PROXY_PORT: '0' })
      expect(output).toMatch(/exit 1/)
      expect(output).toContain('BLOCKRUN_WALLET_KEY')
      expectNoKey(bad.length === 66 ? (bad as `0x${string}`) : (`${bad}0` as `0x${string}`), { [`bad key ${bad.slice(0, 4)}…`]: output })
    }
    // A malformed wallet file holding something key-like is not echoed either.
    const fileHome = await tempHome()
    const almost = `${key}ff`
    await writeFile(join(fileHome, 'wallet.key'), `${almost}\n`)
    const output = await cli(['wallet'], { BLOCKRUN_HOME: fileHome, BLOCKRUN_PROXY_PORT: '0' })
    expect(output).toContain('malformed')
    expectNoKey(key, { 'malformed wallet file': output })
  })

  it('a crash dump of the loaded wallet and settings does not contain the key', async () => {
    const home = await tempHome()
    const key = generatePrivateKey()
    // A process with the key loaded logs its objects and then dies of an uncaught error that
    // carries them: Node prints everything it can reach with util.inspect.
    const script = `
      const { resolveSettings, settingsFromEnv } = await import(${JSON.stringify(join(DIST, 'config.js'))});
      const { ImageService } = await import(${JSON.stringify(join(DIST, 'service.js'))});
      const settings = resolveSettings(settingsFromEnv());
      const service = await ImageService.create(settings, { publicUrl: () => 'http://127.0.0.1:1' });
      console.log(settings, service.wallet, JSON.stringify({ wallet: service.wallet, settings }, (k, v) => typeof v === 'bigint' ? String(v) : v));
      console.error(service);
      throw Object.assign(new Error('crash with everything attached'), { settings, wallet: service.wallet, service });`
    const result = await run(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, BLOCKRUN_HOME: home, BLOCKRUN_WALLET_KEY: key } }).catch((error: { code: number; stdout: string; stderr: string }) => error)
    expect((result as { code: number }).code).toBe(1)
    expect(result.stderr).toContain('crash with everything attached')
    expect(result.stdout).toContain(privateKeyToAccount(key).address) // the dump did include the wallet
    expect(result.stdout).toContain('[redacted]')
    expectNoKey(key, { 'crash stdout': result.stdout, 'crash stderr': result.stderr })
  })

  it('the check itself finds the key in every form it looks for', () => {
    const key = generatePrivateKey()
    const hex = key.slice(2)
    for (const leak of [key, key.toUpperCase(), hex, `…${hex.slice(10, 40)}…`, BigInt(key).toString(), Buffer.from(hex, 'hex').toString('base64')]) {
      expect(() => expectNoKey(key, { sample: `x ${leak} y` })).toThrow(/the key appeared in sample/)
    }
  })
})
