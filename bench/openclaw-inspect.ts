/**
 * (9) What the plugin costs every OpenClaw command that loads it: `openclaw plugins inspect imagegen
 * --runtime --json` timed side by side with the same command for OpenClaw's bundled `openai` plugin,
 * alternating, median of 5 each (issue #18: within 1.5×). Also the installed size of the plugin.
 *
 * `npm run bench` installs Node 24 and openclaw@2026.9.6 into .cache/ (tests/acceptance/openclaw-setup.sh),
 * packs this package and installs it into a throwaway OpenClaw home. The acceptance script, which
 * has installed the plugin already, runs this file directly to print the same figures:
 *   NODE24=… OPENCLAW=… HOME=<openclaw home> node dist/bench/openclaw-inspect.js
 */
import { execFile, spawn } from 'node:child_process'
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { median, type Row } from './stats.js'

const run = promisify(execFile)
const ROOT = fileURLToPath(new URL('../..', import.meta.url))
/** The limit: the plugin's inspect within 1.5× of a bundled plugin's. */
const RATIO_TARGET = 1.5

export type OpenClaw = { node: string; openclaw: string; home: string }

/** One `openclaw …` command under Node 24 with `home` as HOME; resolves its wall time in ms and its stdout. */
function timed({ node, openclaw, home }: OpenClaw, args: string[]): Promise<{ ms: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn(node, [openclaw, ...args], { env: { ...process.env, HOME: home, PATH: `${dirname(node)}:${process.env.PATH ?? ''}` }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk))
    child.once('exit', (code) => {
      const ms = performance.now() - started
      if (code === 0) resolve({ ms, stdout })
      else reject(new Error(`openclaw ${args.join(' ')} exited ${code}: ${stderr.slice(-2000)}`))
    })
  })
}

export type InspectTimings = { imagegen: number[]; openai: number[]; installedBytes: number }

/** Both inspects `runs` times, alternating, after one unmeasured warm-up of each (file cache). */
export async function inspectTimings(openclaw: OpenClaw, runs = 5): Promise<InspectTimings> {
  const inspect = (id: string) => timed(openclaw, ['plugins', 'inspect', id, '--runtime', '--json'])
  const times: InspectTimings = { imagegen: [], openai: [], installedBytes: await treeBytes(join(openclaw.home, '.openclaw', 'extensions', 'imagegen')) }
  const first = await inspect('imagegen')
  const status = (JSON.parse(first.stdout) as { plugin?: { status?: string } }).plugin?.status
  if (status !== 'loaded') throw new Error(`openclaw plugins inspect imagegen: status ${status}`)
  await inspect('openai')
  for (let i = 0; i < runs; i++) {
    // Alternate which goes first, so neither always runs right after the other.
    for (const id of i % 2 === 0 ? ['imagegen', 'openai'] : ['openai', 'imagegen']) times[id as 'imagegen' | 'openai'].push((await inspect(id)).ms)
  }
  return times
}

export function describeTimings(times: InspectTimings): { line: string; ratio: number } {
  const ours = median(times.imagegen)
  const theirs = median(times.openai)
  const ratio = ours / theirs
  const s = (value: number) => `${(value / 1000).toFixed(2)} s`
  return {
    ratio,
    line: `imagegen ${s(ours)} vs openai ${s(theirs)} (${ratio.toFixed(2)}×; runs: ${times.imagegen.map(s).join(', ')} / ${times.openai.map(s).join(', ')}); installed plugin ${(times.installedBytes / 1e6).toFixed(1)} MB`,
  }
}

async function treeBytes(dir: string): Promise<number> {
  let bytes = 0
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) if (entry.isFile()) bytes += (await stat(join(entry.parentPath, entry.name))).size
  return bytes
}

/** For `npm run bench`: OpenClaw from the cache, this package packed and installed in a throwaway home, then (9). */
export async function openclawInspect(rows: Row[], runs = 5): Promise<void> {
  const setup = await run('bash', [join(ROOT, 'tests/acceptance/openclaw-setup.sh')], { cwd: ROOT, maxBuffer: 16 << 20 })
  const paths = Object.fromEntries(setup.stdout.trim().split('\n').map((line) => line.split('=') as [string, string]))
  const work = await mkdtemp(join(tmpdir(), 'imagegen-bench-openclaw-'))
  try {
    // The bench built dist/ already: pack exactly that.
    const packed = await run('npm', ['pack', '--silent', '--ignore-scripts', '--pack-destination', work], { cwd: ROOT })
    const openclaw = { node: paths.NODE24!, openclaw: paths.OPENCLAW!, home: join(work, 'home') }
    await timed(openclaw, ['plugins', 'install', join(work, packed.stdout.trim().split('\n').at(-1)!), '--force', '--accept-capabilities'])
    const times = await inspectTimings(openclaw, runs)
    const { line, ratio } = describeTimings(times)
    rows.push({ measure: `(9) openclaw plugins inspect imagegen --runtime --json vs openai (bundled), median of ${runs}, alternating`, value: line, target: `≤ ${RATIO_TARGET}×`, met: ratio <= RATIO_TARGET })
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { NODE24, OPENCLAW, HOME } = process.env
  if (!NODE24 || !OPENCLAW || !HOME) throw new Error('set NODE24, OPENCLAW and HOME (the OpenClaw home where imagegen is installed)')
  const { line, ratio } = describeTimings(await inspectTimings({ node: NODE24, openclaw: OPENCLAW, home: HOME }))
  process.stdout.write(`openclaw plugins inspect --runtime --json, median of 5, alternating: ${line}; target ≤ ${RATIO_TARGET}×: ${ratio <= RATIO_TARGET ? 'met' : 'NOT met'}\n`)
}
