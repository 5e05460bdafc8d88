#!/usr/bin/env node
/**
 * `npm run build`: two outputs in dist/.
 *
 * 1. The module build (tsc): every source file as its own module, for the tests and benchmarks
 *    that import one module (a ledger, a wallet loader) into a child process. Never shipped.
 * 2. The bundle (esbuild), what ships and what every command runs: the CLI
 *    (dist/server/cli/index.js, which also serves MCP) and the OpenClaw entry
 *    (dist/plugin/openclaw.js), written over tsc's copies of those two files, plus the chunks they
 *    share (dist/chunks/). Our code and every pure-JS dependency are in it, tree-shaken; only
 *    sharp stays a package (its native part cannot be bundled). Code splitting keeps each dynamic
 *    `import()` a chunk of its own, so `imagegen mcp` answers tools/list and `imagegen serve`
 *    answers /health without loading viem, @solana/* or sharp.
 *    Writing over tsc's entry files keeps every path users, docs and tests know; whatever starts
 *    the CLI or loads the plugin runs the bundle.
 *
 * Also written: dist/bundle-meta.json (esbuild's metafile: which inputs went into which output
 * file; tests use it to check what a command loads; not shipped) and dist/THIRD-PARTY-NOTICES.md
 * (the licenses of the bundled packages, shipped with the bundle).
 */
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { BUNDLE_ENTRIES, CHUNK_DIR, META_FILE, NOTICES_FILE } from './bundle-layout.mjs'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const require = createRequire(import.meta.url)
const started = Date.now()

// 1. The module build. tsc from this project's node_modules, under the Node running this script.
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.json')], { stdio: 'inherit', cwd: ROOT })

// 2. The bundle.
rmSync(join(ROOT, 'dist', CHUNK_DIR), { recursive: true, force: true })
const result = await build({
  absWorkingDir: ROOT,
  entryPoints: BUNDLE_ENTRIES.map((entry) => entry.source),
  outbase: '.',
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  chunkNames: `${CHUNK_DIR}/[name]-[hash]`,
  // sharp: the native image library, resolved from node_modules at run time, where npm put the
  // build for this machine. bufferutil and utf-8-validate: optional native speed-ups that `ws`
  // (under @solana/kit, whose subscriptions we never open) require() inside a try; absent is normal.
  external: ['sharp', 'bufferutil', 'utf-8-validate'],
  // Bundled CommonJS packages call require() for Node built-ins; ESM output has no `require`.
  banner: { js: "import { createRequire as __imagegenCreateRequire } from 'node:module'; const require = __imagegenCreateRequire(import.meta.url);" },
  // Whitespace and syntax only: identifiers keep their names, so stack traces stay readable.
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'none', // the licenses go to THIRD-PARTY-NOTICES.md, whole
  sourcemap: false,
  metafile: true,
  logLevel: 'warning',
})
// tsc's source maps describe the files the bundle replaced.
for (const entry of BUNDLE_ENTRIES) rmSync(join(ROOT, `${entry.output}.map`), { force: true })

writeFileSync(join(ROOT, 'dist', META_FILE), JSON.stringify(result.metafile))
writeFileSync(join(ROOT, 'dist', NOTICES_FILE), thirdPartyNotices(result.metafile))

const outputs = Object.entries(result.metafile.outputs)
const bytes = outputs.reduce((sum, [, output]) => sum + output.bytes, 0)
process.stdout.write(`bundle: ${outputs.length} files, ${(bytes / 1e6).toFixed(2)} MB, in ${((Date.now() - started) / 1000).toFixed(1)} s (with tsc)\n`)

/**
 * Every package with code in the bundle, with its license text: MIT, ISC, BSD and Apache all ask
 * that the notice travel with copies of the code, and a bundle is a copy.
 */
function thirdPartyNotices(metafile) {
  const packages = new Map()
  for (const input of Object.keys(metafile.inputs)) {
    const match = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input)
    if (!match) continue
    const dir = join(ROOT, input.slice(0, match.index + match[0].length - 1))
    if (packages.has(dir)) continue
    packages.set(dir, JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')))
  }
  const sections = [...packages]
    .sort(([, a], [, b]) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version))
    .map(([dir, pkg]) => {
      const licenseFile = ['LICENSE', 'LICENSE.md', 'LICENSE.txt', 'license', 'LICENCE', 'LICENSE-MIT'].map((name) => join(dir, name)).find((file) => existsSync(file))
      const text = licenseFile ? readFileSync(licenseFile, 'utf8').trim() : `License: ${pkg.license ?? 'see the package'} (the package ships no license file).`
      return `## ${pkg.name} ${pkg.version} (${pkg.license ?? 'unknown'})\n\n\`\`\`\n${text}\n\`\`\`\n`
    })
  return `# Third-party notices\n\nThe bundle in dist/ contains code from these packages, under their licenses.\n\n${sections.join('\n')}`
}
