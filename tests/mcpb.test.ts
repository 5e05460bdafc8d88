/**
 * The Claude Desktop extension: `scripts/pack-mcpb.mjs` packs it with the official `mcpb` CLI
 * (sharp's native builds fetched from the npm registry), the same CLI unpacks it, and its server is
 * started the way Claude Desktop starts it: the manifest's command line and environment with
 * `${__dirname}` and `${user_config.*}` filled in. No file of this checkout is reachable from the
 * unpacked folder.
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startSandbox, type RunningSandbox } from '../server/sandbox/server.js'
import { startMcp } from './helpers/mcp-client.js'
import { freePort } from './helpers/processes.js'

const run = promisify(execFile)
const ROOT = join(import.meta.dirname, '..')
const MCPB_CLI = join(ROOT, 'node_modules/@anthropic-ai/mcpb/dist/cli/cli.js')

type UserConfigField = { type: string; title: string; description: string; sensitive?: boolean; required?: boolean; default?: string | number }
type Manifest = {
  name: string
  version: string
  server: { type: string; entry_point: string; mcp_config: { command: string; args: string[]; env: Record<string, string> } }
  tools: Array<{ name: string }>
  compatibility: { platforms: string[] }
  user_config: Record<string, UserConfigField>
}

/** What Claude Desktop does with a manifest value: `${__dirname}` is the extension's folder, `${user_config.x}` the user's value. */
function fill(value: string, dir: string, userConfig: Record<string, string | number>): string {
  return value.replace('${__dirname}', dir).replace(/\$\{user_config\.([\w-]+)\}/g, (placeholder, key: string) => (key in userConfig ? String(userConfig[key]) : placeholder))
}

const walletText = (result: CallToolResult) => result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n')

describe('the .mcpb extension', () => {
  let work: string
  let dir: string
  let manifest: Manifest
  let sandbox: RunningSandbox

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'imagegen-mcpb-test-'))
    const file = join(work, 'imagegen.mcpb')
    await run(process.execPath, [join(ROOT, 'scripts/pack-mcpb.mjs'), '--out', file], { cwd: ROOT, timeout: 240_000 })
    dir = join(work, 'unpacked')
    await run(process.execPath, [MCPB_CLI, 'unpack', file, dir], { cwd: work })
    manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Manifest
    sandbox = await startSandbox({})
  }, 300_000)

  afterAll(async () => {
    await sandbox?.close()
    if (work) await rm(work, { recursive: true, force: true })
  })

  /**
   * The server as Claude Desktop would start it with these settings: unset optional fields take
   * their defaults, or, as some hosts do for a blank field with an empty default, stay as the
   * literal placeholder (`conformant: false`). Balance reads go to a dead local port (no network here).
   */
  const startServer = async (userConfig: Record<string, string | number>, { env: extraEnv = {}, conformant = true }: { env?: Record<string, string>; conformant?: boolean } = {}) => {
    const defaults = Object.fromEntries(
      Object.entries(manifest.user_config).flatMap(([key, field]) => (field.default === undefined || (!conformant && field.default === '') ? [] : [[key, field.default]])),
    )
    const values = { ...defaults, ...userConfig }
    const { command, args, env } = manifest.server.mcp_config
    expect(command).toBe('node')
    const filled = Object.fromEntries(Object.entries(env).map(([name, value]) => [name, fill(value, dir, values)]))
    const deadRpc = `http://127.0.0.1:${await freePort()}`
    const network = { BLOCKRUN_PROXY_PORT: String(await freePort()), BASE_RPC_URL: deadRpc, BASE_SEPOLIA_RPC_URL: deadRpc }
    return startMcp({ ...filled, ...network, ...extraEnv }, { command: process.execPath, args: args.map((arg) => fill(arg, dir, values)), cwd: work })
  }

  it('unpacks to the bundle, its manifest and sharp built for macOS and Windows', async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'))
    expect(manifest).toMatchObject({ name: 'blockrun-imagegen', version: pkg.version, server: { type: 'node', entry_point: 'dist/server/cli/index.js' } })
    expect(existsSync(join(dir, manifest.server.entry_point))).toBe(true)
    expect(manifest.compatibility.platforms).toEqual(['darwin', 'win32'])
    for (const platform of ['darwin-arm64', 'darwin-x64', 'win32-x64']) {
      const files = await readdir(join(dir, 'node_modules', '@img', `sharp-${platform}`, 'lib'))
      expect(files.some((name) => name.startsWith(`sharp-${platform}`) && name.endsWith('.node')), platform).toBe(true)
    }
    for (const name of ['LICENSE', 'icon.png', 'dist/THIRD-PARTY-NOTICES.md', 'package.json']) expect(existsSync(join(dir, name)), name).toBe(true)
  })

  it('asks for the wallet key as a sensitive field and for the limits as ordinary ones, each reaching the server through the environment', () => {
    const { user_config: fields, server } = manifest
    expect(fields.wallet_key).toMatchObject({ type: 'string', sensitive: true, required: false })
    expect(fields.max_per_request).toMatchObject({ type: 'number', default: 0.5 })
    expect(fields.daily_budget).toMatchObject({ type: 'number', default: 5 })
    for (const key of ['max_per_request', 'daily_budget', 'confirm_above', 'home', 'payment_chain']) expect(fields[key]!.sensitive, key).toBeFalsy()
    expect(server.mcp_config.env).toMatchObject({
      BLOCKRUN_WALLET_KEY: '${user_config.wallet_key}',
      BLOCKRUN_MAX_PER_REQUEST: '${user_config.max_per_request}',
      BLOCKRUN_DAILY_BUDGET: '${user_config.daily_budget}',
      BLOCKRUN_CONFIRM_ABOVE: '${user_config.confirm_above}',
    })
    // The key is never on the command line (visible to every user of the machine).
    expect(JSON.stringify(server.mcp_config.args)).not.toContain('wallet_key')
  })

  it('its server answers tools/list with the tools the manifest lists, and pays from the configured key within the configured limits', async () => {
    const home = join(work, 'home')
    const key = `0x${'3c'.repeat(32)}`
    const { privateKeyToAccount } = await import('viem/accounts')
    const payer = privateKeyToAccount(key as `0x${string}`).address
    await fetch(`${sandbox.url}/_sandbox/fund`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ address: payer, amount: '1000000' }) })
    // The upstream and port are the test's; Claude Desktop passes only the manifest's environment.
    const mcp = await startServer({ wallet_key: key, home, max_per_request: 0.06 }, { env: { BLOCKRUN_API_URL: sandbox.url } })
    try {
      expect(mcp.tools.map((t) => t.name)).toEqual(manifest.tools.map((t) => t.name))
      const wallet = (await mcp.client.callTool({ name: 'wallet_status', arguments: {} })) as CallToolResult
      expect(walletText(wallet)).toContain(payer)
      expect(walletText(wallet)).not.toContain(key.slice(2))
      // $0.06 per request: nano-banana ($0.0535) passes, nano-banana-pro ($0.106) is refused before signing.
      const refused = (await mcp.client.callTool({ name: 'generate_image', arguments: { prompt: 'a fox', model: 'banana-pro' } })) as CallToolResult
      expect(refused.isError).toBe(true)
      const made = (await mcp.client.callTool({ name: 'generate_image', arguments: { prompt: 'a fox', model: 'nano-banana' } })) as CallToolResult
      expect(made.isError, JSON.stringify(made.content)).toBeFalsy()
      const text = made.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n')
      expect(text).toContain(join(home, 'images'))
      expect(sandbox.usdc.transfers.map((t) => t.from.toLowerCase())).toEqual([payer.toLowerCase()])
      // Where the extension carries no sharp build (this Linux machine), the answer says there is no preview, and why.
      const previews = made.content.filter((c) => c.type === 'image')
      if (['darwin', 'win32'].includes(process.platform)) expect(previews).toHaveLength(1)
      else {
        expect(previews).toHaveLength(0)
        expect(text).toContain(`No inline preview: the image library (sharp) has no build for this system (${process.platform}-${process.arch})`)
        // An edit needs the library to check its inputs: refused, in those words, before anything is paid.
        const imagePath = new RegExp(`${join(home, 'images')}/\\S+\\.png`).exec(text)![0]
        const edit = (await mcp.client.callTool({ name: 'edit_image', arguments: { prompt: 'snow', image: [imagePath] } })) as CallToolResult
        expect(edit.isError).toBe(true)
        expect(walletText(edit)).toContain(`The image library (sharp) could not load on this system (${process.platform}-${process.arch})`)
        expect(sandbox.usdc.transfers).toHaveLength(1)
      }
    } finally {
      await mcp.close()
    }
  })

  it('asks before paying above the confirmation threshold; a client that cannot ask gets the price and nothing is signed', async () => {
    const home = join(work, 'confirm-home')
    const key = `0x${'4d'.repeat(32)}`
    const transfers = sandbox.usdc.transfers.length
    const mcp = await startServer({ wallet_key: key, home, confirm_above: 0.05 }, { env: { BLOCKRUN_API_URL: sandbox.url } })
    try {
      // nano-banana is $0.0535 at 1024x1024: above $0.05, so not paid without the user's yes.
      const refused = (await mcp.client.callTool({ name: 'generate_image', arguments: { prompt: 'a fox', model: 'nano-banana' } })) as CallToolResult
      expect(refused.isError).toBe(true)
      expect(walletText(refused)).toContain('$0.0535')
      expect(walletText(refused)).toContain('BLOCKRUN_CONFIRM_ABOVE')
      expect(sandbox.usdc.transfers).toHaveLength(transfers)
    } finally {
      await mcp.close()
    }
  })

  it('starts with every optional field left blank, even when the host passes the placeholders through unexpanded', async () => {
    const home = join(work, 'blank-home')
    // Non-conformant hosts leave `${user_config.x}` in place for blank fields: the server must read them as unset.
    const mcp = await startServer({ home }, { conformant: false })
    try {
      const wallet = (await mcp.client.callTool({ name: 'wallet_status', arguments: {} })) as CallToolResult
      expect(wallet.isError, JSON.stringify(wallet.content)).toBeFalsy()
      expect(existsSync(join(home, 'wallet.key')), 'a wallet was made in the data directory').toBe(true)
      expect(walletText(wallet)).toMatch(/0x[0-9a-fA-F]{40}/)
      expect(mcp.stderr()).not.toMatch(/user_config/)
    } finally {
      await mcp.close()
    }
  })
})
