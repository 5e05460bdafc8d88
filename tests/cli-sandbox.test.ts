/**
 * The sandbox and the demo explain themselves, through the built CLI: `imagegen sandbox --fund`
 * confirms each balance and says how to point things at it; `imagegen wallet` and `wallet_status`
 * show the network the upstream's 402 asks for and read its balance through the product's own
 * RPC code from the sandbox's /rpc (nothing in the product knows it is a sandbox); the demo uses a
 * folder of the user's own, keeps serving on a terminal until Ctrl-C and ends by itself without
 * one; its picture says it is a placeholder. Needs `npm run build`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { chmod, mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp from 'sharp'
import { afterAll, describe, expect, it } from 'vitest'
import { walletStatusTool } from '../plugin/tools.js'
import { resolveSettings } from '../server/config.js'
import { openCore } from '../server/core/index.js'
import { BASE_SEPOLIA, SOLANA_DEVNET } from '../server/payment/networks.js'
import { PLACEHOLDER_BAND, renderImage } from '../server/sandbox/render.js'
import { startSandbox } from '../server/sandbox/server.js'
import { loadWallet } from '../server/wallet/key.js'
import { NOBODY, otherUserUnavailable } from './helpers/other-user.js'
import { CLI, freePort, runCli } from './helpers/processes.js'
import { tempHome, writeMnemonic } from './helpers/stack.js'

const dirs: string[] = []
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true })
})

async function home(): Promise<string> {
  const dir = await tempHome('imagegen-cli-sandbox-')
  dirs.push(dir)
  return dir
}

/** `imagegen sandbox ...` until it prints its URL; its stderr so far. */
async function spawnSandbox(args: string[]): Promise<{ child: ChildProcess; url: string; rpc: string; stderr: () => string; stop(): Promise<number | null> }> {
  const child = spawn(process.execPath, [CLI, 'sandbox', '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stderr!.on('data', (chunk) => (stderr += chunk))
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (chunk) => {
      stdout += chunk
      if (stdout.includes('\n')) resolve(stdout.trim())
    })
    void exited.then(() => reject(new Error(`sandbox exited: ${stderr}`)))
  })
  return { child, url, rpc: url.replace(/\/api$/, '/rpc'), stderr: () => stderr, stop: () => (child.kill('SIGINT'), exited) }
}

describe('imagegen sandbox and imagegen wallet against it', () => {
  it('--fund confirms each balance; wallet shows Base Sepolia, as the upstream asks, and the balance read from its /rpc', async () => {
    const dir = await home()
    const wallet = await loadWallet({ home: dir })
    const solanaAddress = 'HAgk14JpMQLgt6rVgv7cBQFJWFto5Dqxi472uT3DKpqk'
    const sandbox = await spawnSandbox(['--fund', `${wallet.address}=2.5`, '--fund', solanaAddress])
    try {
      expect(sandbox.stderr()).toContain(`funded   ${wallet.address}: $2.50 test USDC on Base Sepolia`)
      expect(sandbox.stderr()).toContain(`funded   ${solanaAddress}: $10.00 test USDC on Solana devnet`)
      expect(sandbox.stderr()).toContain(`imagegen wallet --upstream ${sandbox.url} --sepolia-rpc-url ${sandbox.rpc}`)
      const env = { BLOCKRUN_HOME: dir, BLOCKRUN_PROXY_PORT: '0' }
      // Exactly the command the sandbox printed.
      const text = await runCli(['wallet', '--upstream', sandbox.url, '--sepolia-rpc-url', sandbox.rpc], { env })
      expect(text.code, text.stderr).toBe(0)
      expect(text.stdout).toContain(`network  Base Sepolia (${BASE_SEPOLIA.caip2}), as the upstream asks; USDC ${BASE_SEPOLIA.usdc}`)
      expect(text.stdout).toMatch(/^balance  \$2\.50$/m)
      expect(text.stdout).not.toContain('balance  balance')
      expect(text.stdout).toContain(`imagegen sandbox --fund ${wallet.address}`)
      const json = JSON.parse((await runCli(['wallet', '--json'], { env: { ...env, BLOCKRUN_API_URL: sandbox.url, BASE_SEPOLIA_RPC_URL: sandbox.rpc } })).stdout)
      expect(json).toMatchObject({ address: wallet.address, network: BASE_SEPOLIA.caip2, networkSource: 'upstream', balance: '2500000', balanceUsd: '$2.50' })
      // Without the RPC flag, the network is still the one asked for; its balance says which setting reads it.
      const unread = await runCli(['wallet', '--upstream', sandbox.url, '--sepolia-rpc-url', `http://127.0.0.1:${await freePort()}`], { env })
      expect(unread.stdout).toMatch(/^balance  unavailable \(the Base Sepolia RPC could not be reached; set BASE_SEPOLIA_RPC_URL or --sepolia-rpc-url to use another\)$/m)
    } finally {
      expect(await sandbox.stop()).toBe(0)
    }
  })

  it('on Solana: the sandbox funds a Solana address and wallet --chain solana reads it from the sandbox as Solana devnet', async () => {
    const dir = await home()
    await writeMnemonic(dir)
    const wallet = await loadWallet({ home: dir })
    const address = wallet.solana!.address
    const sandbox = await spawnSandbox(['--chain', 'solana', '--fund', `${address}=1.25`])
    try {
      expect(sandbox.stderr()).toContain(`funded   ${address}: $1.25 test USDC on Solana devnet`)
      expect(sandbox.stderr()).toContain(`imagegen wallet --upstream ${sandbox.url} --chain solana --solana-devnet-rpc-url ${sandbox.rpc}`)
      const run = await runCli(['wallet', '--upstream', sandbox.url, '--chain', 'solana', '--solana-devnet-rpc-url', sandbox.rpc, '--rpc-url', `http://127.0.0.1:${await freePort()}`], {
        env: { BLOCKRUN_HOME: dir, BLOCKRUN_PROXY_PORT: '0' },
      })
      expect(run.code, run.stderr).toBe(0)
      expect(run.stdout).toContain(`network  Solana devnet (${SOLANA_DEVNET.caip2}), as the upstream asks`)
      expect(run.stdout).toMatch(/^balance  \$1\.25$/m)
      expect(run.stdout).toMatch(new RegExp(`solana   ${address}  \\$1\\.25  \\(pays\\)`))
    } finally {
      await sandbox.stop()
    }
  })

  it('the wallet_status tool says the same, and says why when the upstream cannot be asked', async () => {
    const dir = await home()
    const wallet = await loadWallet({ home: dir })
    const sandbox = await startSandbox({ fund: { [wallet.address]: 750_000n } })
    const dead = `http://127.0.0.1:${await freePort()}`
    try {
      const core = await openCore(resolveSettings({ home: dir, port: 0, upstream: sandbox.url, sepoliaRpcUrl: sandbox.rpcUrl, rpcUrl: dead }))
      try {
        const { text } = await walletStatusTool.execute(core, {}, {})
        expect(text).toContain(`Wallet ${wallet.address} on ${BASE_SEPOLIA.caip2}, the network the upstream asks payments on.`)
        expect(text).toContain('Balance: $0.75 USDC.')
        // Asking costs nothing: one unpaid request, answered 402, nothing signed.
        expect(sandbox.counters.authorizations).toBe(0)
        expect(sandbox.usdc.transfers).toHaveLength(0)
      } finally {
        await core.close()
      }
      const offline = await openCore(resolveSettings({ home: dir, port: 0, upstream: `${dead}/api`, rpcUrl: dead }))
      try {
        const { text } = await walletStatusTool.execute(offline, {}, {})
        expect(text).toContain('Balance: unavailable (the Base RPC could not be reached')
        expect(text).toContain(`Note: eip155:8453 is shown because the upstream's network could not be learnt: ${dead}/api/v1/images/generations could not be reached (ECONNREFUSED).`)
      } finally {
        await offline.close()
      }
    } finally {
      await sandbox.close()
    }
  })
})

describe('imagegen demo', () => {
  const uid = process.getuid?.()

  it('without a terminal it ends by itself, in a private folder of the user\'s own, and says the picture is a placeholder', async () => {
    const temp = await mkdtemp(join(tmpdir(), 'imagegen-demo-tmp-'))
    dirs.push(temp)
    const run = await runCli(['demo'], { env: { TMPDIR: temp } })
    expect(run.code, run.stderr).toBe(0)
    const folder = join(temp, `blockrun-imagegen-demo-${uid}`)
    expect(((await stat(folder)).mode & 0o777).toString(8)).toBe('700')
    expect(run.stdout).toContain('picture   a placeholder the sandbox draws (no model runs offline')
    expect(run.stdout).toMatch(/url {7}http:\/\/127\.0\.0\.1:\d+\/images\/\S+ \(served only while the demo runs: it has ended\)/)
    const file = /file {6}(\S+)/.exec(run.stdout)![1]!
    expect(file.startsWith(join(folder, 'images'))).toBe(true)
    // It ends with the gallery's address, and how to see it again.
    expect(run.stdout.trimEnd().split('\n').at(-1)).toBe(`  gallery   ${/url {7}(http:\/\/127\.0\.0\.1:\d+)\//.exec(run.stdout)![1]}/ (served only while the demo runs; see it again with: imagegen gallery --home ${folder})`)
    // The picture says so too: a dark banner across the top with bright yellow lettering.
    expect(await bannerPixels(await readFile(file))).toBeGreaterThan(200)
  })

  it('a folder of that name that is not private is refused, not used', async () => {
    const temp = await mkdtemp(join(tmpdir(), 'imagegen-demo-tmp-'))
    dirs.push(temp)
    const folder = join(temp, `blockrun-imagegen-demo-${uid}`)
    await mkdir(folder)
    await chmod(folder, 0o777)
    const run = await runCli(['demo'], { env: { TMPDIR: temp } })
    expect(run.code).toBe(2)
    expect(run.stderr).toContain(`${folder} exists but is not a private folder of yours; remove it or pass --home DIR`)
  })

  // Another user runs this checkout's CLI, so every folder above it must let them through (a
  // checkout under a private folder, such as `mktemp -d`'s, does not).
  const cliUnreachable =
    otherUserUnavailable ??
    (spawnSync('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', 'test', '-r', CLI]).status !== 0 ? `skipped: nobody cannot read ${CLI} (a private folder above the checkout)` : undefined)
  it.skipIf(cliUnreachable !== undefined)(`a second user on the machine runs it too, in a folder of their own (${cliUnreachable ?? 'as nobody'})`, async () => {
    const temp = await mkdtemp(join(tmpdir(), 'imagegen-demo-shared-'))
    dirs.push(temp)
    await chmod(temp, 0o1777)
    expect((await runCli(['demo'], { env: { TMPDIR: temp } })).code).toBe(0)
    const other = spawnSync('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', process.execPath, CLI, 'demo'], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/nonexistent', TMPDIR: temp },
      cwd: '/',
      encoding: 'utf8',
      timeout: 60_000,
    })
    expect(other.status, other.stderr).toBe(0)
    expect(other.stdout).toContain(join(temp, `blockrun-imagegen-demo-${NOBODY}`, 'images'))
    expect((await stat(join(temp, `blockrun-imagegen-demo-${NOBODY}`))).uid).toBe(NOBODY)
  })

  const noScript = spawnSync('script', ['--version']).status !== 0
  it.skipIf(noScript)('on a terminal it keeps serving until Ctrl-C, says so, and the printed URL opens meanwhile', async () => {
    const temp = await mkdtemp(join(tmpdir(), 'imagegen-demo-tmp-'))
    dirs.push(temp)
    // util-linux `script` gives the demo a pseudo-terminal; Ctrl-C is typed into it. `exec`: the
    // shell script starts (dash where SHELL is unset, as in CI) would otherwise die of the same
    // SIGINT and report 130 whatever the demo did.
    const child = spawn('script', ['-qec', `exec ${process.execPath} ${CLI} demo`, '/dev/null'], { env: { ...process.env, TMPDIR: temp }, stdio: ['pipe', 'pipe', 'pipe'] })
    let out = ''
    child.stdout!.on('data', (chunk) => (out += chunk))
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
    const deadline = Date.now() + 60_000
    while (!out.includes('until Ctrl-C') && Date.now() < deadline && child.exitCode === null) await new Promise((resolve) => setTimeout(resolve, 50))
    expect(out).toMatch(/Serving http:\/\/127\.0\.0\.1:\d+ \(the url above opens in a browser\) until Ctrl-C\./)
    const url = /url {7}(\S+)/.exec(out)![1]!
    expect(out).not.toContain('it has ended')
    const served = await fetch(url)
    expect(served.status).toBe(200)
    expect(served.headers.get('content-type')).toBe('image/png')
    while (!/gallery {3}\S+ \(every image/.test(out) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
    const gallery = /gallery {3}(\S+) \(every image of this demo/.exec(out)![1]!
    expect(gallery).toBe(`${new URL(url).origin}/`)
    expect((await fetch(gallery)).status).toBe(200)
    expect(((await (await fetch(`${gallery}v1/gallery`)).json()) as { total: number }).total).toBe(1)
    child.stdin!.write('\x03')
    expect(await exited).toBe(0)
  })
})

describe('the sandbox\'s picture', () => {
  it('carries its placeholder banner at every size', async () => {
    for (const [width, height] of [[1024, 1024], [512, 512], [1536, 1024], [768, 1344]] as const) {
      const png = await renderImage({ prompt: 'a red fox', width, height })
      expect(await bannerPixels(png), `${width}x${height}`).toBeGreaterThan(100)
    }
  })
})

/** Bright yellow pixels (the banner's lettering) inside the top band, whose background is near black. */
async function bannerPixels(png: Buffer): Promise<number> {
  const image = sharp(png)
  const { width, height } = await image.metadata()
  const band = Math.round(height! * PLACEHOLDER_BAND) - 2
  const { data, info } = await image.extract({ left: 0, top: 0, width: width!, height: band }).removeAlpha().raw().toBuffer({ resolveWithObject: true })
  let yellow = 0
  let dark = 0
  for (let i = 0; i < data.length; i += info.channels) {
    const [r, g, b] = [data[i]!, data[i + 1]!, data[i + 2]!]
    if (r > 200 && g > 170 && b < 90) yellow++
    if (r < 40 && g < 40 && b < 40) dark++
  }
  expect(dark / (data.length / info.channels)).toBeGreaterThan(0.6)
  return yellow
}
