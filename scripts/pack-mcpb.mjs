#!/usr/bin/env node
/**
 * `npm run pack:mcpb`: the Claude Desktop extension, dist/blockrun-imagegen-<version>.mcpb, packed
 * by the official `mcpb` CLI from a staging folder that holds:
 * - the bundle (dist/, as `npm run build` made it: the MCP server is `imagegen mcp`);
 * - mcpb/manifest.json (wallet key a sensitive user_config field, the limits ordinary ones);
 * - package.json (name, version, `type: module`), LICENSE, the bundle's third-party notices, an icon;
 * - node_modules with sharp and its native part for each platform the manifest names: macOS on
 *   Apple silicon and Intel, Windows x64, fetched from the npm registry with `--os`/`--cpu`.
 *   Elsewhere sharp does not load, and the tools answer without inline previews, saying so.
 *
 * Usage: node scripts/pack-mcpb.mjs [--out FILE]  (after `npm run build`)
 */
import { execFileSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { BUNDLE_ENTRIES, CHUNK_DIR, META_FILE, NOTICES_FILE } from './bundle-layout.mjs'

/** The platforms whose sharp build the extension carries, as npm names them. */
export const MCPB_PLATFORMS = [
  { os: 'darwin', cpu: 'arm64' },
  { os: 'darwin', cpu: 'x64' },
  { os: 'win32', cpu: 'x64' },
]

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const { values } = parseArgs({ options: { out: { type: 'string' } } })

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))
const manifest = JSON.parse(readFileSync(join(ROOT, 'mcpb', 'manifest.json'), 'utf8'))
if (manifest.version !== pkg.version) fail(`mcpb/manifest.json says version ${manifest.version}, package.json ${pkg.version}: make them agree.`)
if (!existsSync(join(ROOT, 'dist', META_FILE))) fail('no bundle in dist/: run `npm run build` first.')
const out = resolve(values.out ?? join(ROOT, 'dist', `${pkg.name}-${pkg.version}.mcpb`))

const stage = mkdtempSync(join(tmpdir(), 'imagegen-mcpb-'))
try {
  // The bundle, laid out as in the npm package.
  for (const entry of BUNDLE_ENTRIES) cpSync(join(ROOT, entry.output), join(stage, entry.output))
  cpSync(join(ROOT, 'dist', CHUNK_DIR), join(stage, 'dist', CHUNK_DIR), { recursive: true })
  cpSync(join(ROOT, 'dist', NOTICES_FILE), join(stage, 'dist', NOTICES_FILE))
  cpSync(join(ROOT, 'LICENSE'), join(stage, 'LICENSE'))
  cpSync(join(ROOT, 'mcpb', 'manifest.json'), join(stage, 'manifest.json'))
  // What the bundle reads at run time: ESM, and its version.
  const sharpVersion = JSON.parse(readFileSync(join(ROOT, 'node_modules', 'sharp', 'package.json'), 'utf8')).version
  writeFileSync(join(stage, 'package.json'), `${JSON.stringify({ name: pkg.name, version: pkg.version, type: 'module', license: pkg.license, private: true, dependencies: { sharp: sharpVersion } }, null, 2)}\n`)
  await writeIcon(join(stage, 'icon.png'))
  manifest.icon = 'icon.png'
  writeFileSync(join(stage, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`)

  // sharp for each platform, merged into one node_modules: the JS is the same, the native packages differ.
  for (const { os, cpu } of MCPB_PLATFORMS) {
    const prefix = mkdtempSync(join(tmpdir(), `imagegen-mcpb-${os}-${cpu}-`))
    try {
      writeFileSync(join(prefix, 'package.json'), '{"private":true}\n')
      npm(['install', '--no-save', '--no-package-lock', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', `--os=${os}`, `--cpu=${cpu}`, `sharp@${sharpVersion}`], prefix)
      const native = readdirSync(join(prefix, 'node_modules', '@img')).filter((name) => name.includes(`-${os}-${cpu}`))
      if (!native.some((name) => name.startsWith('sharp-') && !name.startsWith('sharp-libvips'))) fail(`npm installed no sharp build for ${os}-${cpu} (got @img/${native.join(', @img/')}).`)
      // No .bin links: nothing in the extension runs a package's command.
      rmSync(join(prefix, 'node_modules', '.bin'), { recursive: true, force: true })
      cpSync(join(prefix, 'node_modules'), join(stage, 'node_modules'), { recursive: true, force: true })
    } finally {
      rmSync(prefix, { recursive: true, force: true })
    }
  }
  rmSync(join(stage, 'node_modules', '.package-lock.json'), { force: true })

  mkdirSync(dirname(out), { recursive: true })
  rmSync(out, { force: true })
  const mcpb = join(ROOT, 'node_modules', '@anthropic-ai', 'mcpb', 'dist', 'cli', 'cli.js')
  execFileSync(process.execPath, [mcpb, 'pack', stage, out], { stdio: ['ignore', 'ignore', 'inherit'] })
  if (!existsSync(out)) fail('mcpb pack wrote nothing.')
  process.stdout.write(`${out}\n`)
} finally {
  rmSync(stage, { recursive: true, force: true })
}

function npm(args, cwd) {
  // npm's own CLI under this Node, so the same npm runs everywhere (no shell lookup of `npm`).
  const npmCli = /(^|[\\/])npm-cli\.js$/.test(process.env.npm_execpath ?? '') ? process.env.npm_execpath : undefined
  if (npmCli) execFileSync(process.execPath, [npmCli, ...args], { cwd, stdio: ['ignore', 'ignore', 'inherit'] })
  else execFileSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', args, { cwd, stdio: ['ignore', 'ignore', 'inherit'] })
}

/** A 512 px icon drawn from SVG (sharp renders it), so the repository holds no binary. */
async function writeIcon(file) {
  const { default: sharp } = await import('sharp')
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="512" height="512" viewBox="0 0 512 512">
  <rect width="512" height="512" rx="112" fill="#1d4ed8"/>
  <rect x="96" y="128" width="320" height="256" rx="28" fill="none" stroke="#ffffff" stroke-width="28"/>
  <circle cx="196" cy="212" r="34" fill="#facc15"/>
  <path d="M122 360 L226 262 L290 322 L338 278 L394 360 Z" fill="#ffffff"/>
</svg>`
  await sharp(Buffer.from(svg)).png().toFile(file)
}

function fail(message) {
  process.stderr.write(`pack-mcpb: ${message}\n`)
  process.exit(1)
}
