/**
 * What the bundle (dist/, scripts/build.mjs) holds and what a process loads of it. esbuild's
 * metafile (dist/bundle-meta.json) says which source files and packages went into each output
 * file; a loader hook in the child process names every file it loads; together they say which
 * packages a command pulled in, though the packages themselves are inside chunks.
 */
import { readFileSync, statSync } from 'node:fs'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

export type Metafile = {
  inputs: Record<string, { bytes: number }>
  outputs: Record<string, { bytes: number; inputs: Record<string, unknown>; imports: Array<{ path: string; kind: string; external?: boolean }> }>
}

export function bundleMeta(): Metafile {
  return JSON.parse(readFileSync(join(ROOT, 'dist', 'bundle-meta.json'), 'utf8')) as Metafile
}

/** The package a path inside node_modules belongs to (`@scope/name` or `name`). */
export function packageOf(path: string): string | undefined {
  return /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path)?.[1]
}

/** The packages whose code is in the given output files (paths relative to the root, as in the metafile). */
export function packagesInOutputs(outputs: Iterable<string>, meta = bundleMeta()): Set<string> {
  const packages = new Set<string>()
  for (const output of outputs) for (const input of Object.keys(meta.outputs[output]?.inputs ?? {})) {
    const name = packageOf(input)
    if (name) packages.add(name)
  }
  return packages
}

/** Throws when a source file is newer than the bundle: tests that spawn the CLI must run what the sources say. */
export function assertBundleFresh(): void {
  const built = statSync(join(ROOT, 'dist', 'bundle-meta.json')).mtimeMs
  for (const input of Object.keys(bundleMeta().inputs)) {
    if (input.includes('node_modules/')) continue
    if (statSync(join(ROOT, input)).mtimeMs > built) throw new Error(`${input} is newer than the bundle: run \`npm run build\` first`)
  }
}

/**
 * NODE_OPTIONS for a child process that names every file it loads on stderr (`LOADED <url>`), and
 * a reader for its stderr: the packages it loaded, from the bundle's chunks or from node_modules.
 */
export async function loadTracer(): Promise<{ nodeOptions: string; dir: string; packagesLoaded(stderr: string): Set<string> }> {
  const dir = await mkdtemp(join(tmpdir(), 'imagegen-load-trace-'))
  await writeFile(
    join(dir, 'hooks.mjs'),
    `export async function resolve(specifier, context, next) {
  const result = await next(specifier, context)
  if (result.url.startsWith('file:')) process.stderr.write('LOADED ' + result.url + '\\n')
  return result
}\n`,
  )
  await writeFile(join(dir, 'register.mjs'), `import { register } from 'node:module'\nregister(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)})\n`)
  return {
    dir,
    nodeOptions: `--import=${pathToFileURL(join(dir, 'register.mjs')).href}`,
    packagesLoaded(stderr) {
      const files = [...stderr.matchAll(/^LOADED (file:.+)$/gm)].map((m) => fileURLToPath(m[1]!))
      const outputs = files.map((file) => relative(ROOT, file)).filter((file) => file.startsWith('dist/'))
      const direct = files.map(packageOf).filter((name): name is string => name !== undefined)
      return new Set([...packagesInOutputs(outputs), ...direct])
    },
  }
}
