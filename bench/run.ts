/**
 * `npm run bench`: what the proxy costs and saves, against the clients a user would otherwise use,
 * in one run against the sandbox upstream (with added latency standing for the internet). Prints
 * a markdown table; exits non-zero if any image is missing or any payment did not settle.
 *
 *   --latency MS            added upstream latency for the comparison (default 50)
 *   --images N              sequential images per client (default 200)
 *   --concurrency C         parallel requests for the concurrent runs (default 32)
 *   --concurrent-images N   images per concurrent run (default 320)
 *   --cold-runs N           spawns per cold-start figure (default 10)
 *   --jobs N                202 jobs timed at BlockRun's polling cadence (default 6)
 *   --skip PART             leave out a part: compare, overhead, jobs, memory, cold, caller, openclaw, quote, gallery (repeatable)
 */
import { cpus, loadavg } from 'node:os'
import { mkdtemp, readdir, readFile, writeFile, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { privateKeyToAccount, generatePrivateKey } from 'viem/accounts'
import { presignedClient, proxyClient, sdkClient, x402FetchClient, type Client, type ImageRequest } from './clients.js'
import { callerCheck } from './caller-check.js'
import { bundleChunk, mcpColdStart, nodeRun, serveColdStart } from './cold-start.js'
import { openclawInspect } from './openclaw-inspect.js'
import { quoteLatency } from './quote.js'
import { galleryBench } from './gallery.js'
import { cpuTimeOf, memoryOf, resetPeak, startPassthroughProcess, startProxyProcess, startSandboxProcess, type ProxyProcess, type SandboxProcess } from './processes.js'
import { openAtomicFile } from '../server/store/atomic.js'
import type { SandboxChildOptions, SandboxChildState } from './sandbox-child.js'
import { renderNoise } from '../server/sandbox/render.js'
import { median, ms, percentile, table, type Row } from './stats.js'

const { values } = parseArgs({
  options: {
    latency: { type: 'string', default: '50' },
    images: { type: 'string', default: '200' },
    concurrency: { type: 'string', default: '32' },
    'concurrent-images': { type: 'string', default: '320' },
    'cold-runs': { type: 'string', default: '10' },
    jobs: { type: 'string', default: '6' },
    skip: { type: 'string', multiple: true, default: [] },
  },
})
const LATENCY = Number(values.latency)
const IMAGES = Number(values.images)
const CONCURRENCY = Number(values.concurrency)
const CONCURRENT_IMAGES = Number(values['concurrent-images'])
const COLD_RUNS = Number(values['cold-runs'])
const JOBS = Number(values.jobs)
/** How long each bench job runs at the sandbox (real slow models take 30–120 s; the cadence is what is measured). */
const JOB_MS = 4000
const skip = new Set(values.skip.flatMap((part) => part.split(',')))

const MODEL = 'google/nano-banana'
const SIZE = '1024x1024'
/**
 * Warm-ups use another model (same result form, data URIs; nano-banana takes one size only), so
 * they load modules and open connections without priming the measured route's payment cache.
 */
const WARM_MODEL = 'google/nano-banana-2'
const WARMUPS = 5
const FUND = (10n ** 12n).toString() // a million test USDC per wallet

const keys = { proxy: generatePrivateKey(), fetch: generatePrivateKey(), sdk: generatePrivateKey(), direct: generatePrivateKey(), passthrough: generatePrivateKey() }
const fund = Object.fromEntries(Object.values(keys).map((key) => [privateKeyToAccount(key).address, FUND]))
const rows: Row[] = []
const notes: string[] = []

function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`bench check failed: ${message}`)
}

async function runMany(client: Client, count: number, concurrency: number, request: (i: number) => ImageRequest) {
  const latencies: number[] = []
  let next = 0
  const started = performance.now()
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      for (let i = next++; i < count; i = next++) {
        const t0 = performance.now()
        await client.generate(request(i))
        latencies.push(performance.now() - t0)
      }
    }),
  )
  const wallMs = performance.now() - started
  await client.verify?.()
  return { latencies, wallMs }
}

/** Runs `work`, then checks that the sandbox settled exactly `images` payments meanwhile and refused none. */
async function settled<T>(sandbox: SandboxProcess, images: number, what: string, work: () => Promise<T>): Promise<{ result: T; delta: SandboxChildState }> {
  const before = await sandbox.state()
  const result = await work()
  const after = await sandbox.state()
  const delta = Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - before[k as keyof SandboxChildState]])) as SandboxChildState
  check(delta.transfers === images, `${what}: ${images} images but ${delta.transfers} settlements`)
  check(delta.rejected === 0, `${what}: ${delta.rejected} payments rejected by the facilitator`)
  return { result, delta }
}

/** `items` in the order of turn `i`: reversed every other turn, so no one always goes first or after the same one. */
function inTurn<T>(items: readonly T[], i: number): readonly T[] {
  return i % 2 ? [...items].reverse() : items
}

function zeroState(): SandboxChildState {
  return { requests: 0, imageRequests: 0, authorizations: 0, polls: 0, settled: 0, rejected: 0, connections: 0, transfers: 0 }
}

function addState(total: SandboxChildState, delta: SandboxChildState): void {
  for (const key of Object.keys(total) as Array<keyof SandboxChildState>) total[key] += delta[key]
}

const request = (tag: string, model = MODEL) => (i: number): ImageRequest => ({ model, size: SIZE, prompt: `bench ${tag} ${i}` })

async function warm(sandbox: SandboxProcess, clients: Client[]) {
  for (const client of clients) await settled(sandbox, WARMUPS, `${client.name} warm-up`, () => runMany(client, WARMUPS, 1, request(`warm ${client.name}`, WARM_MODEL)))
}

async function withStack<T>(options: Omit<SandboxChildOptions, 'fund'>, work: (sandbox: SandboxProcess, proxy: ProxyProcess) => Promise<T>): Promise<T> {
  const sandbox = await startSandboxProcess({ ...options, fund })
  const proxy = await startProxyProcess(sandbox.url, keys.proxy).catch(async (error) => {
    await sandbox.stop()
    throw error
  })
  try {
    return await work(sandbox, proxy)
  } finally {
    await proxy.stop()
    await sandbox.stop()
  }
}

/** (1), (2) and (4) at the added latency: requests per image, latency vs the reference clients, throughput. */
async function compare() {
  await withStack({ latencyMs: LATENCY, renderOnce: true }, async (sandbox, { url: proxyUrl }) => {
    const clients = [proxyClient(proxyUrl), x402FetchClient(sandbox.url, keys.fetch), sdkClient(sandbox.url, keys.sdk)]
    await warm(sandbox, clients)
    // The clients take turns image by image (the order reversed every other image), so a slow
    // phase of the machine falls on all of them alike, and no client's connections sit idle for
    // long while the others run. The upstream's counters are read around each image.
    const results = new Map(clients.map((client) => [client.name, { latencies: [] as number[], delta: zeroState() }]))
    for (let i = 0; i < IMAGES; i++) {
      for (const client of inTurn(clients, i)) {
        const { result, delta } = await settled(sandbox, 1, `${client.name} sequential`, () => runMany(client, 1, 1, () => request(`seq ${client.name}`)(i)))
        const total = results.get(client.name)!
        total.latencies.push(...result.latencies)
        addState(total.delta, delta)
      }
    }
    const ours = results.get('proxy')!
    const perImage = ours.delta.imageRequests / IMAGES
    rows.push({ measure: `(1) upstream requests per paid image, ${IMAGES} sequential, proxy`, value: `${perImage.toFixed(3)} (${ours.delta.imageRequests} image requests, ${ours.delta.requests} HTTP requests in all)`, target: '≤ 1.02', met: perImage <= 1.02 })
    for (const name of ['x402-fetch', 'blockrun-sdk']) {
      const { delta } = results.get(name)!
      rows.push({ measure: `(1) … ${name}`, value: (delta.requests / IMAGES).toFixed(3), target: '(2 expected)', met: undefined })
    }
    notes.push(`TCP connections the upstream accepted during ${IMAGES} sequential images: ${[...results].map(([name, r]) => `${name} ${r.delta.connections}`).join(', ')}.`)
    const pct = (latencies: number[]) => [50, 95, 99].map((p) => percentile(latencies, p))
    const [o50, o95, o99] = pct(ours.latencies)
    rows.push({ measure: `(2) latency per image at ${LATENCY} ms, proxy p50 / p95 / p99`, value: `${ms(o50!)} / ${ms(o95!)} / ${ms(o99!)}`, target: '', met: undefined })
    for (const name of ['x402-fetch', 'blockrun-sdk']) {
      const [t50, t95, t99] = pct(results.get(name)!.latencies)
      rows.push({ measure: `(2) … ${name} p50 / p95 / p99`, value: `${ms(t50!)} / ${ms(t95!)} / ${ms(t99!)}`, target: '', met: undefined })
      const ratio = o50! / t50!
      rows.push({ measure: `(2) … ratio proxy / ${name} at p50 (p95, p99)`, value: `${ratio.toFixed(2)}x (${(o95! / t95!).toFixed(2)}x, ${(o99! / t99!).toFixed(2)}x)`, target: '≤ 0.6x', met: ratio <= 0.6 })
    }
    const { result } = await settled(sandbox, CONCURRENT_IMAGES, 'proxy concurrent', () => runMany(clients[0]!, CONCURRENT_IMAGES, CONCURRENCY, request('conc')))
    rows.push({ measure: `(4) images/s through the proxy, concurrency ${CONCURRENCY}, ${LATENCY} ms`, value: (CONCURRENT_IMAGES / (result.wallMs / 1000)).toFixed(1), target: '', met: undefined })
  })
}

/**
 * (3) and (4) at zero added latency: the proxy's own cost against the leanest direct client. The
 * same direct client is also sent through a bare pass-through proxy, in the same rounds, and one
 * image is committed durably by the store's own code: together, the floor under (3) here.
 */
async function overhead() {
  await withStack({ latencyMs: 0, renderOnce: true }, async (sandbox, proxyProcess) => {
    const passthrough = await startPassthroughProcess(sandbox.url)
    try {
      const clients = {
        proxy: proxyClient(proxyProcess.url),
        direct: presignedClient(sandbox.url, keys.direct),
        // The pass-through forwards paths as they come, to the upstream's origin.
        passthrough: presignedClient(`${passthrough.url}/api`, keys.passthrough, 'direct-via-pass-through'),
      }
      type Path = keyof typeof clients
      const paths = Object.keys(clients) as Path[]
      const extraPid: Record<Path, number | undefined> = { proxy: proxyProcess.pid, direct: undefined, passthrough: passthrough.pid }
      // CPU per image on each path, all processes included (this one is the client of all three).
      const cpuNow = (path: Path) => {
        const own = process.cpuUsage()
        const extra = extraPid[path]
        return (own.user + own.system) / 1000 + cpuTimeOf(sandbox.pid) + (extra ? cpuTimeOf(extra) : 0)
      }
      const cpu = { proxy: 0, direct: 0, passthrough: 0 }
      await warm(sandbox, Object.values(clients))
      // Sequential: the three take turns image by image, the order reversed every other image, so
      // load from elsewhere (and what one leaves behind: a directory fsync, garbage) falls on all alike.
      const sequential = { proxy: [] as number[], direct: [] as number[], passthrough: [] as number[] }
      await settled(sandbox, paths.length * IMAGES, 'overhead sequential', async () => {
        for (let i = 0; i < IMAGES; i++) {
          for (const path of inTurn(paths, i)) {
            const t0 = performance.now()
            await clients[path].generate(request(`over ${path}`)(i))
            sequential[path].push(performance.now() - t0)
          }
        }
        await clients.proxy.verify?.()
      })
      const concurrent = { proxy: [] as number[], direct: [] as number[], passthrough: [] as number[] }
      let proxyWall = 0
      // Concurrent: four rounds each, taking turns (reversed every other round), a quarter of the images per round.
      const count = CONCURRENT_IMAGES / 4
      for (let round = 0; round < 4; round++) {
        for (const path of inTurn(paths, round)) {
          const before = cpuNow(path)
          const { result } = await settled(sandbox, count, `${path} concurrent`, () => runMany(clients[path], count, CONCURRENCY, request(`conc ${path} ${round}`)))
          cpu[path] += cpuNow(path) - before
          concurrent[path].push(...result.latencies)
          if (path === 'proxy') proxyWall += result.wallMs
        }
      }
      const added = (set: typeof sequential, path: Path, p: number) => percentile(set[path], p) - percentile(set.direct, p)
      for (const [label, set] of [['1', sequential], [String(CONCURRENCY), concurrent]] as const) {
        const p50 = added(set, 'proxy', 50)
        const p99 = added(set, 'proxy', 99)
        rows.push({
          measure: `(3) proxy overhead at 0 ms, concurrency ${label}: p50 / p99`,
          value: `${ms(p50)} / ${ms(p99)} (proxy ${ms(percentile(set.proxy, 50))} / ${ms(percentile(set.proxy, 99))}, direct ${ms(percentile(set.direct, 50))} / ${ms(percentile(set.direct, 99))})`,
          target: 'p50 ≤ 2 ms, p99 ≤ 10 ms',
          met: p50 <= 2 && p99 <= 10,
        })
      }
      rows.push({ measure: `(4) images/s through the proxy, concurrency ${CONCURRENCY}, 0 ms`, value: (CONCURRENT_IMAGES / (proxyWall / 1000)).toFixed(1), target: '', met: undefined })
      const perImage = (path: Path) => cpu[path] / (4 * count)
      rows.push({
        measure: `(3) … for information: CPU time per image at concurrency ${CONCURRENCY}, all processes (client, proxy, upstream) on ${cpus().length} CPUs`,
        value: `through the proxy ${ms(perImage('proxy'))}, direct ${ms(perImage('direct'))}: ${ms(perImage('proxy') - perImage('direct'))} more per image; through the bare pass-through proxy ${ms(perImage('passthrough'))}`,
        target: '',
        met: undefined,
      })
      rows.push({
        measure: '(3) … for information: the floor, a bare pass-through proxy (node:http in and out; nothing checked, paid or stored) in the same rounds, added p50 / p99',
        value: `concurrency 1: ${ms(added(sequential, 'passthrough', 50))} / ${ms(added(sequential, 'passthrough', 99))}; concurrency ${CONCURRENCY}: ${ms(added(concurrent, 'passthrough', 50))} / ${ms(added(concurrent, 'passthrough', 99))}`,
        target: '',
        met: undefined,
      })
      const commit = await durableCommitTimes(proxyProcess.home)
      rows.push({
        measure: '(3) … for information: the floor, committing one result image durably by the store\'s own code (temp file, write, fsync, rename), same disk, median of 200',
        value: `${ms(median(commit.times))} for ${(commit.bytes / 1024).toFixed(0)} KB (p99 ${ms(percentile(commit.times, 99))}), of which CPU ${(commit.cpuMs / commit.times.length).toFixed(2)} ms; the rest is waiting for the disk`,
        target: '',
        met: undefined,
      })
    } finally {
      await passthrough.stop()
    }
  })
}

/**
 * (7) 202 jobs at BlockRun's cadence (the proxy's defaults: a first poll after 2 s, then every
 * 3 s): how long after the job is done at the upstream our caller has the image, and how many
 * polls and upstream requests one job costs. Jobs run one after another, each JOB_MS long.
 */
async function jobs() {
  await withStack({ latencyMs: LATENCY, renderOnce: true, forms: 'job', jobMs: JOB_MS }, async (sandbox, { url }) => {
    const proxy = proxyClient(url)
    const answered: number[] = []
    const { delta } = await settled(sandbox, JOBS, 'jobs', async () => {
      for (let i = 0; i < JOBS; i++) {
        await proxy.generate(request('job')(i))
        answered.push(Date.now())
      }
      await proxy.verify?.()
    })
    // The sandbox keeps jobs in the order they were made, which is the order they were answered here.
    const made = await sandbox.jobs()
    check(made.length === JOBS, `jobs: ${JOBS} requests made ${made.length} jobs`)
    const lag = made.map((job, i) => answered[i]! - job.ready)
    const polls = made.map((job) => job.polls.length)
    const unpaid = made.reduce((sum, job) => sum + job.polls.length - job.paidPolls, 0)
    rows.push({
      measure: `(7) 202 jobs of ${JOB_MS / 1000} s at ${LATENCY} ms, default cadence: job done at the upstream → image at our caller, median / max`,
      value: `${ms(median(lag))} / ${ms(Math.max(...lag))} (${JOBS} jobs)`,
      target: '',
      met: undefined,
    })
    rows.push({
      measure: '(7) … polls per job (all paid), upstream HTTP requests per job',
      value: `${(polls.reduce((a, b) => a + b, 0) / JOBS).toFixed(1)} polls (${unpaid} unpaid), ${(delta.requests / JOBS).toFixed(1)} requests (${delta.imageRequests} image POSTs for ${JOBS} jobs)`,
      target: 'no unpaid poll',
      met: unpaid === 0,
    })
  })
}

/** (11) the quote's latency next to a paid image's (bench/quote.ts). */
async function quotes() {
  await withStack({ latencyMs: LATENCY, renderOnce: true }, async (_sandbox, { url }) => quoteLatency(url, rows, { latency: LATENCY }))
}

/** How long the image store's atomic file takes to commit one of the proxy's result images (ms each), and the CPU it uses (ms in all). */
async function durableCommitTimes(proxyHome: string): Promise<{ bytes: number; times: number[]; cpuMs: number }> {
  const images = join(proxyHome, 'images')
  // Names start with the time they were written: the newest is one of the measured route's images, not a warm-up's.
  const sample = (await readdir(images)).filter((name) => name.endsWith('.png')).sort().at(-1)
  check(sample !== undefined, 'the proxy stored no image to time a commit with')
  const bytes = await readFile(join(images, sample))
  const dir = await mkdtemp(join(proxyHome, 'commit-'))
  const times: number[] = []
  const cpuBefore = process.cpuUsage()
  for (let i = 0; i < 200; i++) {
    const t0 = performance.now()
    const file = await openAtomicFile(join(dir, `${i}.png`), { directoryExists: true, directorySync: 'background' })
    await file.write(bytes)
    await file.commit()
    times.push(performance.now() - t0)
  }
  const cpu = process.cpuUsage(cpuBefore)
  return { bytes: bytes.length, times, cpuMs: (cpu.user + cpu.system) / 1000 }
}

/**
 * Peak RSS growth of process `pid` while `work` runs: the kernel's peak mark (VmHWM, reset just
 * before) and 2 ms sampling of VmRSS, whichever is higher, minus the RSS just before.
 */
async function peakGrowth(pid: number, work: () => Promise<void>): Promise<{ baseline: number; peak: number }> {
  await new Promise((resolve) => setTimeout(resolve, 300))
  const baseline = memoryOf(pid).rss
  const kernelPeak = resetPeak(pid)
  if (!kernelPeak) notes.push('VmHWM could not be reset here; peak RSS is from 2 ms sampling of VmRSS.')
  let sampled = baseline
  const sampler = setInterval(() => (sampled = Math.max(sampled, memoryOf(pid).rss)), 2)
  try {
    await work()
  } finally {
    clearInterval(sampler)
  }
  return { baseline, peak: Math.max(sampled, kernelPeak ? memoryOf(pid).hwm : 0) }
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`

async function postJson(url: string, body: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  return { status: response.status, body: await response.json() }
}

/** (5) peak RSS growth of the proxy process while it returns one 4096x4096 noise PNG, per result form; and one large edit going up. */
async function memory() {
  for (const form of ['b64_json', 'data_uri', 'url'] as const) {
    await withStack({ latencyMs: 0, noise: true, forms: form }, async (sandbox, { url: proxyUrl, pid }) => {
      const proxy = proxyClient(proxyUrl)
      // One small paid image first: modules, signer and pools are loaded before the baseline.
      await settled(sandbox, 1, 'memory warm-up', async () => {
        await proxy.generate({ model: 'google/nano-banana-pro', size: '1024x1024', prompt: 'warm' })
        await proxy.verify?.()
      })
      let path = ''
      const { baseline, peak } = await peakGrowth(pid, async () => {
        await settled(sandbox, 1, `memory ${form}`, async () => {
          const { status, body } = await postJson(`${proxyUrl}/v1/images/generations`, { model: 'google/nano-banana-pro', size: '4096x4096', prompt: `large ${form}` })
          check(status === 200, `memory ${form}: proxy answered ${status} ${JSON.stringify(body).slice(0, 300)}`)
          path = body.data[0].path
        })
      })
      const size = (await stat(path)).size
      const growth = peak - baseline
      rows.push({
        measure: `(5) proxy peak RSS growth, one 4096x4096 result as ${form === 'url' ? 'hosted url (download)' : form}`,
        value: `${mb(growth)} for a ${mb(size)} image = ${(growth / size).toFixed(2)}x (baseline ${mb(baseline)}, peak ${mb(peak)})`,
        target: '≤ 2.5x',
        met: growth / size <= 2.5,
      })
    })
  }
  // Going up: an edit whose input is a ~20 MB PNG given by path (the proxy reads, checks and
  // base64-encodes it, then streams the JSON body upstream). Reported for information.
  await withStack({ latencyMs: 0 }, async (sandbox, { url: proxyUrl, pid }) => {
    const dir = await mkdtemp(join(tmpdir(), 'imagegen-bench-edit-'))
    const input = join(dir, 'input.png')
    await writeFile(input, await renderNoise({ prompt: '', width: 2560, height: 2560, index: 3 }))
    const warm = join(dir, 'warm.png')
    await writeFile(warm, await renderNoise({ prompt: '', width: 256, height: 256, index: 4 }))
    await settled(sandbox, 1, 'edit warm-up', async () => {
      const { status, body } = await postJson(`${proxyUrl}/v1/images/image2image`, { model: 'openai/gpt-image-1', prompt: 'warm', image: warm })
      check(status === 200, `edit warm-up: proxy answered ${status} ${JSON.stringify(body).slice(0, 300)}`)
    })
    const { baseline, peak } = await peakGrowth(pid, () =>
      settled(sandbox, 1, 'edit upload', async () => {
        const { status, body } = await postJson(`${proxyUrl}/v1/images/image2image`, { model: 'openai/gpt-image-1', prompt: 'large edit', image: input })
        check(status === 200, `edit upload: proxy answered ${status} ${JSON.stringify(body).slice(0, 300)}`)
      }).then(() => undefined),
    )
    const size = (await stat(input)).size
    rows.push({
      measure: '(5) … for information: proxy peak RSS growth, one edit with a 2560x2560 input PNG by path',
      value: `${mb(peak - baseline)} for a ${mb(size)} input = ${((peak - baseline) / size).toFixed(2)}x`,
      target: '',
      met: undefined,
    })
  })
}

/** (6) cold start of `imagegen mcp` and `imagegen serve`, median of COLD_RUNS spawns each. */
async function cold() {
  const home = await mkdtemp(join(tmpdir(), 'imagegen-bench-cold-'))
  await writeFile(join(home, 'wallet.key'), `${keys.proxy}\n`, { mode: 0o600 })
  // A port nothing listens on, so the MCP server never finds (and never probes) a running proxy.
  const env: NodeJS.ProcessEnv = { ...process.env, BLOCKRUN_HOME: home, BLOCKRUN_PROXY_PORT: '1' }
  delete env.BLOCKRUN_WALLET_KEY
  for (const [name, start, what] of [['mcp', mcpColdStart, 'tools/list'], ['serve', serveColdStart, '/health']] as const) {
    await start(env) // first spawn fills the OS file cache; not counted
    const times: number[] = []
    for (let i = 0; i < COLD_RUNS; i++) times.push(await start(env))
    const mid = median(times)
    rows.push({ measure: `(6) cold start, imagegen ${name} → ${what}, median of ${COLD_RUNS}`, value: `${ms(mid)} (min ${ms(Math.min(...times))}, max ${ms(Math.max(...times))})`, target: '≤ 400 ms', met: mid <= 400 })
  }
  // Where a cold start goes: node itself, then each command's static graph in the bundle, the
  // wallet key, and what the first payment adds.
  const chunk = (source: string) => new URL(bundleChunk(source), new URL('../../', import.meta.url)).href
  const parts = [
    ['node with nothing to run', '0'],
    ['import the `imagegen mcp` chunks (the MCP static graph)', `await import('${chunk('plugin/mcp.ts')}')`],
    ['import the `imagegen serve` chunks (the serve static graph)', `await import('${chunk('server/cli/commands/serve.ts')}')`],
    ['load the wallet file and derive its address (serve, before listening)', `const { loadWallet } = await import('${chunk('server/wallet/key.ts')}'); await loadWallet({ home: ${JSON.stringify(home)} })`],
    ['import the viem/accounts chunk (at the first payment, not at start)', `await import('${chunk('node_modules/viem/_esm/accounts/index.js')}')`],
  ] as const
  const parts_: string[] = []
  for (const [label, code] of parts) {
    await nodeRun(code)
    const times: number[] = []
    for (let i = 0; i < COLD_RUNS; i++) times.push(await nodeRun(code))
    parts_.push(`${label} ${ms(median(times))}`)
  }
  rows.push({ measure: '(6) … for information: spawn to exit, median', value: parts_.join('; '), target: '', met: undefined })
}

async function main() {
  const started = Date.now()
  const load = loadavg()
  const header = [
    `date: ${new Date().toISOString()}`,
    `machine: ${cpus().length} CPUs (${cpus()[0]?.model.trim() ?? 'unknown'}), node ${process.version}, ${process.platform} ${process.arch}`,
    `load average at start: ${load.map((l) => l.toFixed(2)).join(' ')}`,
    `settings: latency ${LATENCY} ms, ${IMAGES} sequential images per client, concurrency ${CONCURRENCY} over ${CONCURRENT_IMAGES} images, ${COLD_RUNS} cold starts, model ${MODEL} ${SIZE}`,
  ]
  process.stderr.write(`${header.join('\n')}\n`)
  for (const [name, part] of [['compare', compare], ['overhead', overhead], ['jobs', jobs], ['memory', memory], ['cold', cold], ['caller', () => callerCheck(rows)], ['quote', quotes], ['openclaw', () => openclawInspect(rows)], ['gallery', () => galleryBench(rows, notes, { walletKey: keys.proxy })]] as const) {
    if (skip.has(name)) continue
    const t0 = Date.now()
    await part()
    process.stderr.write(`  ${name} done in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`)
  }
  header.push(`load average at end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}; run took ${Math.round((Date.now() - started) / 1000)} s`)
  process.stdout.write(`${header.join('  \n')}\n\n${table(rows)}\n\n${notes.map((n) => `- ${n}`).join('\n')}\n`)
  const missed = rows.filter((row) => row.met === false).length
  process.stderr.write(missed ? `${missed} target(s) missed (see table)\n` : 'all targets met\n')
}

main().catch((error: unknown) => {
  process.stderr.write(`\nBENCH FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
  process.exit(1)
})
