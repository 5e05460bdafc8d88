/**
 * The package as users get it: `npm pack`, then installed the way `openclaw plugins install` and
 * `npm install` do, into a directory where nothing of this checkout can be resolved. Its size is
 * a permanent limit (issue #18: at most 30 MB installed, which OpenClaw reads on every command that
 * loads the plugin), and the installed copy must run every front door with nothing but its own
 * dependencies: the bundle plus sharp.
 */
import { execFile, spawn } from 'node:child_process'
import { builtinModules } from 'node:module'
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bundleMeta } from './helpers/bundle.js'
import { startMcp } from './helpers/mcp-client.js'
import { fakeApi } from './helpers/openclaw-host.js'
import { PAGE_FILES } from '../server/http/gallery-page.js'
import { freePort } from './helpers/processes.js'

const run = promisify(execFile)
const ROOT = join(import.meta.dirname, '..')

/** The ceiling for the installed plugin, bytes of files (the 30 MB; sharp's native part is most of it). */
const INSTALLED_LIMIT = 30_000_000
/** The ceiling for the bundle itself (dist/ as packed): our code and every pure-JS dependency. */
const BUNDLE_LIMIT = 5_000_000

type PackedFile = { path: string; size: number }

/** Bytes and package count of a node_modules tree (apparent sizes: deterministic across file systems). */
async function treeSize(dir: string): Promise<{ bytes: number; files: number }> {
  let bytes = 0
  let files = 0
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue
    bytes += (await stat(join(entry.parentPath, entry.name))).size
    files++
  }
  return { bytes, files }
}

async function installedPackages(nodeModules: string): Promise<string[]> {
  const names: string[] = []
  for (const entry of await readdir(nodeModules, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue
    if (entry.name.startsWith('@')) for (const scoped of await readdir(join(nodeModules, entry.name))) names.push(`${entry.name}/${scoped}`)
    else names.push(entry.name)
  }
  return names.sort()
}

describe('MCP Registry and extension metadata', () => {
  it('server.json names the npm package as published (name, version, command) and only settings the server reads', async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'))
    const server = JSON.parse(await readFile(join(ROOT, 'server.json'), 'utf8'))
    const manifest = JSON.parse(await readFile(join(ROOT, 'mcpb', 'manifest.json'), 'utf8'))
    // The registry checks the npm package's mcpName against the server name, and takes descriptions of at most 100 characters.
    expect(server.name).toBe(pkg.mcpName)
    expect(server.description.length).toBeLessThanOrEqual(100)
    expect([server.version, manifest.version]).toEqual([pkg.version, pkg.version])
    const [npm] = server.packages
    expect(npm).toMatchObject({ registryType: 'npm', identifier: pkg.name, version: pkg.version, transport: { type: 'stdio' } })
    // `npx blockrun-imagegen mcp`: npx runs a package's only command.
    expect(Object.keys(pkg.bin)).toEqual(['imagegen'])
    expect(npm.packageArguments).toEqual([{ type: 'positional', value: 'mcp' }])
    expect(npm.environmentVariables.find((v: { name: string }) => v.name === 'BLOCKRUN_WALLET_KEY')).toMatchObject({ isSecret: true })
    const { settingsFromEnv } = await import('../server/config.js')
    for (const { name } of npm.environmentVariables as Array<{ name: string }>) expect(Object.keys(settingsFromEnv({ [name]: 'x' })), name).toHaveLength(1)
  })
})

describe('the packed package, installed', () => {
  let work: string
  let packed: PackedFile[]
  let installed: string
  let pkg: { dependencies: Record<string, string>; bin: Record<string, string>; version: string }

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'imagegen-package-'))
    pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'))
    // --ignore-scripts: the bundle `npm test` just built is what gets packed (prepack would rebuild dist/ under the running tests).
    const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], { cwd: ROOT })
    const [report] = JSON.parse(stdout) as Array<{ filename: string; files: PackedFile[] }>
    packed = report!.files
    // Installed as OpenClaw and npm do: its dependencies only, from the registry (or npm's cache).
    await run('npm', ['install', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline', '--no-package-lock', join(work, report!.filename)], { cwd: work, env: { ...process.env, npm_config_loglevel: 'error' } })
    installed = join(work, 'node_modules', 'blockrun-imagegen')
  }, 180_000)

  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true })
  })

  it('carries the bundle, the docs, the skills and the license, and nothing users never run', () => {
    const paths = packed.map((f) => f.path).sort()
    for (const path of ['LICENSE', 'README.md', 'SKILL.md', 'package.json', 'openclaw.plugin.json', 'skills/imagegen/SKILL.md', 'skills/imagegen-wallet/SKILL.md', 'docs/MCP.md', 'docs/SECURITY.md', 'dist/server/cli/index.js', 'dist/plugin/openclaw.js', 'dist/THIRD-PARTY-NOTICES.md'])
      expect(paths).toContain(path)
    // The gallery's page, served as it is: its files and no other file of gallery/.
    expect(paths.filter((p) => p.startsWith('gallery/'))).toEqual(Object.keys(PAGE_FILES).map((name) => `gallery/${name}`).sort())
    // Every file the bundle is made of, and no other file of dist/.
    const bundleFiles = Object.keys(bundleMeta().outputs)
    expect(paths.filter((p) => p.startsWith('dist/') && p !== 'dist/THIRD-PARTY-NOTICES.md')).toEqual([...bundleFiles].sort())
    for (const path of paths) {
      expect(path, 'sources, tests, maps and build files stay home').not.toMatch(/\.(ts|map)$|^(tests|bench|scripts|server|plugin|\.ci)\/|bundle-meta\.json|tsconfig|vitest/)
    }
  })

  it('depends on sharp alone, which the bundle imports; every other package is inside the bundle', () => {
    expect(Object.keys(pkg.dependencies)).toEqual(['sharp'])
    const meta = bundleMeta()
    // What the bundle leaves to node_modules, and must therefore be a dependency (the optional add-ons of ws are never installed).
    const external = new Set(Object.values(meta.outputs).flatMap((o) => o.imports.filter((i) => i.external && !i.path.startsWith('node:') && !builtinModules.includes(i.path)).map((i) => i.path)))
    expect([...external].filter((name) => !['bufferutil', 'utf-8-validate'].includes(name))).toEqual(['sharp'])
    const bundleBytes = Object.values(meta.outputs).reduce((sum, o) => sum + o.bytes, 0)
    expect(bundleBytes).toBeLessThan(BUNDLE_LIMIT)
  })

  it(`installs within ${INSTALLED_LIMIT / 1e6} MB: the package, sharp and sharp's own dependencies`, async () => {
    const nodeModules = join(work, 'node_modules')
    const names = await installedPackages(nodeModules)
    const sharp = JSON.parse(await readFile(join(nodeModules, 'sharp', 'package.json'), 'utf8')) as { dependencies: Record<string, string>; optionalDependencies: Record<string, string> }
    const allowed = new Set(['blockrun-imagegen', 'sharp', ...Object.keys(sharp.dependencies), ...Object.keys(sharp.optionalDependencies)])
    expect(names.filter((name) => !allowed.has(name))).toEqual([])
    const { bytes, files } = await treeSize(nodeModules)
    console.log(`installed: ${(bytes / 1e6).toFixed(1)} MB in ${files} files, ${names.length} packages (${names.join(', ')})`)
    expect(bytes).toBeLessThanOrEqual(INSTALLED_LIMIT)
  })

  it('runs from the installed copy alone: version, the offline demo on both chains, the MCP server, the OpenClaw entry', async () => {
    const cli = join(installed, pkg.bin.imagegen)
    expect(relative(installed, cli)).toBe('dist/server/cli/index.js')
    const env = { ...process.env, BLOCKRUN_HOME: join(work, 'home') }
    expect((await run(process.execPath, [cli, '--version'], { cwd: work, env })).stdout.trim()).toBe(pkg.version)
    // The demo goes through everything: sandbox (hono, x402 server side), wallet, payment (viem / @solana/kit), upstream, store, sharp.
    for (const chain of ['base', 'solana']) {
      const { stdout } = await run(process.execPath, [cli, 'demo', '--chain', chain, '--home', join(work, `demo-${chain}`)], { cwd: work, env, timeout: 60_000 })
      expect(stdout, chain).toMatch(/cost\s+\$0\.0535 USDC/)
    }
    const mcp = await startMcp({ BLOCKRUN_HOME: join(work, 'home'), BLOCKRUN_PROXY_PORT: String(await freePort()) }, { args: [cli, 'mcp'], cwd: work })
    try {
      expect(mcp.tools.map((t) => t.name)).toEqual(['generate_image', 'edit_image', 'quote_image', 'list_image_models', 'wallet_status'])
    } finally {
      await mcp.close()
    }
    // The gallery page and its scripts, found beside the installed bundle.
    const port = await freePort()
    const serve = spawn(process.execPath, [cli, 'serve', '--port', String(port), '--home', join(work, 'home')], { cwd: work, env, stdio: 'ignore' })
    try {
      const base = `http://127.0.0.1:${port}`
      for (let i = 0; i < 200 && !(await fetch(`${base}/health`).then((r) => r.ok, () => false)); i++) await new Promise((resolve) => setTimeout(resolve, 25))
      for (const path of ['/', ...Object.keys(PAGE_FILES).filter((name) => name !== 'index.html').map((name) => `/gallery/${name}`)]) expect((await fetch(`${base}${path}`)).status, path).toBe(200)
    } finally {
      serve.kill('SIGTERM')
    }
    const { api, registered } = fakeApi('full', { home: join(work, 'home') })
    const entry = (await import(join(installed, 'dist/plugin/openclaw.js'))).default
    entry.register(api)
    expect(registered.tools.map((t) => t.name).sort()).toEqual(['edit_image', 'generate_image', 'list_image_models', 'quote_image', 'wallet_status'])
    expect(registered.providers.map((p) => p.id)).toEqual(['imagegen'])
  }, 120_000)
})
