/**
 * The sandbox upstream: a local BlockRun look-alike. Same routes and bodies as the gateway, under
 * the same `/api` prefix (`https://blockrun.ai/api/v1/images/generations`), its own model catalog
 * (./catalog.ts: sizes, list prices with the 5% margin, edit rules, result forms, `GET /v1/models`)
 * plus a per-call fee, a real x402 paywall on Base Sepolia USDC or, with `network: SOLANA_DEVNET`,
 * on Solana devnet USDC (nothing of value either way, so a real key pointed here never signs
 * anything valid on mainnet), slow models answered with paid 202 jobs (jobs.ts), and real PNGs
 * returned in each of the gateway's result forms. Its chain's JSON-RPC (Base's `eth_call`s and
 * Solana's methods) answers at `/rpc`.
 *
 * Test-only knobs live here and only here (latency, result forms, noise images); the proxy talks
 * to this server with exactly the code it uses for the real gateway.
 */
import { randomBytes } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { Hono, type Context } from 'hono'
import { BASE_SEPOLIA, chainOfAddress, SOLANA_DEVNET, type KnownNetwork } from '../payment/networks.js'
import { catalogBody, DELISTED, sandboxModel, sandboxPrice, type ResultForm, type SandboxModel } from './catalog.js'
import { EditInbox } from './edit-inputs.js'
import { SandboxFacilitator } from './facilitator.js'
import { faultPicker, type Fault, type FaultMix } from './faults.js'
import { newJobId, pollJob, type JobPollRecord, type SandboxJob } from './jobs.js'
import { Paywall } from './paywall.js'
import { renderImage, renderNoise } from './render.js'
import { rpcHandler } from './rpc.js'
import { SandboxSolana } from './solana.js'
import { solanaRpcMethods } from './solana-rpc.js'
import { SandboxUsdc } from './usdc.js'

export type { ResultForm } from './catalog.js'

export type SandboxOptions = {
  /** x402 protocol version the paywall speaks. */
  version?: 1 | 2
  /** The network the paywall asks for: Base Sepolia (default) or Solana devnet. */
  network?: KnownNetwork
  /** The payee, in the network's address form (default SANDBOX_PAY_TO, or SANDBOX_SOLANA_PAY_TO on Solana). */
  payTo?: string
  /** Milliseconds per Solana block (default 400): a blockhash expires after 150 blocks. */
  solanaBlockMs?: number
  /** Added to every paid call, base units (the gateway charges about $0.001). */
  fee?: bigint
  /** Delay added before answering every request, ms (stands for the internet). */
  latencyMs?: number
  /** How long a 202 job stays in progress, ms. */
  jobMs?: number
  /** The authorization lifetime the 402 asks (`maxTimeoutSeconds`; default the gateway's 600 s). */
  maxTimeoutSeconds?: number
  /** One form for every model, or per model; default each model's form in ./catalog.ts. */
  forms?: ResultForm | Partial<Record<string, ResultForm>>
  /** Render incompressible noise instead of pictures (large files, for benchmarks). */
  noise?: boolean
  /**
   * Render one picture per size and index and reuse it for every prompt (benchmarks: keeps the
   * sandbox's own rendering time out of round-trip comparisons).
   */
  renderOnce?: boolean
  /** Wallets funded at start: address (0x on Base, base58 on Solana) → base units. */
  fund?: Record<string, bigint>
  /** A random mix of upstream faults (a `[fault:<name>]` marker in a prompt works regardless). */
  faults?: FaultMix
  /** How long the `slow` fault waits, ms. */
  slowMs?: number
}

export type SandboxCounters = {
  /** Every HTTP request received. */
  requests: number
  /** POSTs to the image routes. */
  imageRequests: number
  /** Image requests that carried a payment header (authorizations seen). */
  authorizations: number
  /** Job polls, paid or not. */
  polls: number
  /** Job polls that carried no payment (each answered 402). */
  unpaidPolls: number
  /** Reads of the model catalog (`GET /v1/models`). */
  catalogRequests: number
  /** Faults injected, by name. */
  faults: Partial<Record<Fault, number>>
  /** Solana JSON-RPC calls answered at /rpc, by method. */
  solanaRpc: Record<string, number>
}

type ImageOut = { png: Buffer; form: Exclude<ResultForm, 'job'>; revisedPrompt?: string; fault?: Fault | undefined }

export const SANDBOX_PAY_TO: `0x${string}` = '0x000000000000000000000000000000000000b10c'
/** The sandbox's Solana payee (a fixed, valid 32-byte public key). */
export const SANDBOX_SOLANA_PAY_TO = 'B1ockRunSandboxPayee11111111111111111111111'

export function createSandbox(options: SandboxOptions = {}) {
  const usdc = new SandboxUsdc()
  const solana = new SandboxSolana(options.solanaBlockMs)
  const fund = (address: string, amount: bigint) => (chainOfAddress(address) === 'solana' ? solana.fund(address, amount) : usdc.fund(address, amount))
  for (const [address, amount] of Object.entries(options.fund ?? {})) fund(address, amount)
  const facilitator = new SandboxFacilitator(usdc, solana)
  const network = options.network ?? BASE_SEPOLIA
  const payTo = options.payTo ?? (network.chain === 'solana' ? SANDBOX_SOLANA_PAY_TO : SANDBOX_PAY_TO)
  const paywall = new Paywall({ facilitator, network, payTo, version: options.version ?? 2, maxTimeoutSeconds: options.maxTimeoutSeconds })
  const counters: SandboxCounters = { requests: 0, imageRequests: 0, authorizations: 0, polls: 0, unpaidPolls: 0, catalogRequests: 0, faults: {}, solanaRpc: {} }
  const pickFault = faultPicker(options.faults)
  const files = new Map<string, Buffer>()
  const jobs = new Map<string, SandboxJob<ImageOut>>()
  const polls: JobPollRecord[] = []
  const truncated = new Set<string>()
  /** Knobs a test may turn while the sandbox runs (a price change, say). */
  const tuning = { fee: options.fee ?? 1000n }
  const jobMs = options.jobMs ?? 300
  const edits = new EditInbox()

  const formFor = (model: string): ResultForm =>
    typeof options.forms === 'string' ? options.forms : options.forms?.[model] ?? sandboxModel(model)?.form ?? 'b64_json'

  const app = new Hono()
  app.use(async (c, next) => {
    counters.requests++
    if (options.latencyMs) await sleep(options.latencyMs)
    await next()
  })

  const imageRoute = (edit: boolean) => async (c: Context): Promise<Response> => {
    counters.imageRequests++
    const body = (await c.req.json().catch(() => undefined)) as Record<string, unknown> | undefined
    if (!body || typeof body !== 'object') return c.json({ error: 'Invalid JSON body' }, 400)
    if (typeof body.model === 'string' && DELISTED[body.model]) return c.json({ error: DELISTED[body.model] }, 400)
    const model = typeof body.model === 'string' ? sandboxModel(body.model) : undefined
    if (!model) return c.json({ error: `Unknown model: ${String(body.model)}` }, 400)
    if (edit && !model.edit) return c.json({ error: `Model ${model.id} does not support image editing` }, 400)
    const size = typeof body.size === 'string' ? body.size : '1024x1024'
    if (model.prices[size] === undefined) return c.json({ error: `Invalid size ${size} for ${model.id}. Accepted sizes: ${Object.keys(model.prices).join(', ')}` }, 400)
    if (body.quality !== undefined && model.qualities.length && !model.qualities.includes(String(body.quality))) return c.json({ error: `Invalid quality ${String(body.quality)} for ${model.id}. Accepted: ${model.qualities.join(', ')}` }, 400)
    const n = body.n === undefined ? 1 : Number(body.n)
    if (!Number.isInteger(n) || n < 1 || n > model.maxN) return c.json({ error: `n must be between 1 and ${model.maxN}` }, 400)
    const prompt = typeof body.prompt === 'string' ? body.prompt : ''
    if (!prompt) return c.json({ error: 'prompt is required' }, 400)
    let seed = ''
    if (edit) {
      const checked = await edits.check(body, { edit: model.edit, mask: model.mask, maxImages: model.maxImages }, c.req.raw.headers)
      if ('error' in checked) return c.json({ error: checked.error }, 400)
      seed = checked.seed
    }

    const paid = Boolean(c.req.header('payment-signature') || c.req.header('x-payment'))
    if (paid) counters.authorizations++
    const fault = pickFault(prompt)
    const inject = (name: Fault) => {
      if (fault !== name) return false
      counters.faults[name] = (counters.faults[name] ?? 0) + 1
      return true
    }
    if (!paid && inject('error-before-pay')) return c.json({ error: 'Upstream temporarily unavailable' }, Math.random() < 0.5 ? 500 : 503)
    const quote = { amount: sandboxPrice(model, size, n) + tuning.fee, resource: new URL(c.req.url).href, description: `${n} image(s) from ${model.id}` }
    const outcome = await paywall.check(c.req.raw.headers, quote)
    if (outcome.kind === 'respond') {
      if (!paid && inject('malformed-402')) return c.json({ error: 'Payment required' }, 402, { 'PAYMENT-REQUIRED': '%%not-base64%%' })
      return c.json(outcome.body as object, 402, outcome.headers)
    }
    if (inject('payment-required-again')) return c.json({ error: 'Payment required' }, 402, (await paywall.check(new Headers(), quote) as { headers: Record<string, string> }).headers)
    if (inject('reset-before-settle')) return dropConnection(c)
    if (inject('slow')) await sleep(options.slowMs ?? 3000)

    const downloadFault = inject('truncated-download') ? 'truncated-download' : inject('non-image-download') ? 'non-image-download' : undefined
    const images = await render(model, size, n, `${prompt}${seed}`, downloadFault)
    const form = downloadFault ? 'url' : formFor(model.id)
    const as200 = inject('job-accepted-as-200')
    if (form === 'job' || as200) {
      // Verified, not settled: the first completed poll settles (jobs.ts).
      const id = newJobId()
      const jobFault = inject('job-never-completes') ? 'job-never-completes' : inject('job-fails') ? 'job-fails' : inject('job-poll-unavailable') ? 'job-poll-unavailable' : undefined
      const route = edit ? 'image2image' : 'generations'
      jobs.set(id, { id, route, payer: outcome.payer.toLowerCase(), quote, created: Date.now(), ready: Date.now() + jobMs, images, fault: jobFault })
      return c.json({ id, status: 'queued', poll_url: `/api/v1/images/${route}/${id}` }, as200 ? 200 : 202)
    }
    if (inject('moderated')) return c.json({ created: Math.floor(Date.now() / 1000), data: [], error: 'Your request was rejected by the safety system.' }, 200)
    if (inject('settlement-failed-header')) {
      const failed = { success: false, errorReason: 'unexpected_settle_error', transaction: '', network: network.caip2 }
      const header = paywall.version === 1 ? 'X-PAYMENT-RESPONSE' : 'PAYMENT-RESPONSE'
      return c.json({ created: Math.floor(Date.now() / 1000), data: images.map((image) => toItem(image, origin(c))) }, 200, { [header]: Buffer.from(JSON.stringify(failed)).toString('base64') })
    }
    const settlement = await outcome.settle()
    if (!settlement.ok) return c.json(settlement.body as object, 402, settlement.headers)
    if (inject('error-after-settle')) return c.json({ error: 'Internal error while generating' }, 500, settlement.headers)
    if (inject('reset-after-pay')) return dropConnection(c)
    const result = JSON.stringify({ created: Math.floor(Date.now() / 1000), data: images.map((image) => toItem(image, origin(c))) })
    if (inject('close-mid-body')) return halfBody(c, result, settlement.headers)
    return c.body(result, 200, { 'content-type': 'application/json', ...settlement.headers })
  }

  const rendered = new Map<string, Promise<Buffer>>()
  const picture = (parameters: { prompt: string; width: number; height: number; index: number }) => {
    const draw = () => (options.noise ? renderNoise(parameters) : renderImage(parameters))
    if (!options.renderOnce) return draw()
    const key = `${parameters.width}x${parameters.height}/${parameters.index}`
    if (!rendered.has(key)) rendered.set(key, draw())
    return rendered.get(key)!
  }

  const render = async (model: SandboxModel, size: string, n: number, prompt: string, fault?: Fault): Promise<ImageOut[]> => {
    const [width, height] = size.split('x').map(Number) as [number, number]
    const form = formFor(model.id)
    const itemForm = fault ? 'url' : form === 'job' ? (model.provider === 'google' ? 'data_uri' : 'url') : form
    return Promise.all(
      Array.from({ length: n }, async (_, index) => ({
        png: await picture({ prompt, width, height, index }),
        form: itemForm,
        fault,
        ...(model.revisesPrompt ? { revisedPrompt: `A detailed rendering of: ${prompt.slice(0, 200)}` } : {}),
      })),
    )
  }

  const toItem = (image: ImageOut, base: string) => {
    const extra = image.revisedPrompt ? { revised_prompt: image.revisedPrompt } : {}
    if (image.form === 'b64_json') return { b64_json: image.png.toString('base64'), ...extra }
    if (image.form === 'data_uri') return { url: `data:image/png;base64,${image.png.toString('base64')}`, ...extra }
    const name = `${randomBytes(12).toString('hex')}.png`
    files.set(name, image.fault === 'non-image-download' ? Buffer.from('<html>Access denied</html>') : image.png)
    if (image.fault === 'truncated-download') truncated.add(name)
    return { url: `${base}/api/files/${name}`, ...extra }
  }

  app.post('/v1/images/generations', imageRoute(false))
  app.post('/v1/images/image2image', imageRoute(true))
  // The unified model catalog; `?format=json` (Franklin) and the plain path (the SDK) answer alike.
  app.get('/v1/models', (c) => {
    counters.catalogRequests++
    return c.json(catalogBody(tuning.fee))
  })

  const poll = pollJob({ paywall, jobs, polls, items: (c, job) => job.images.map((image) => toItem(image, origin(c))) })
  const countedPoll = async (c: Context) => {
    counters.polls++
    if (!c.req.header('payment-signature') && !c.req.header('x-payment')) counters.unpaidPolls++
    return poll(c)
  }
  app.get('/v1/images/generations/:id', countedPoll)
  app.get('/v1/images/image2image/:id', countedPoll)

  app.get('/files/:name', (c) => {
    const name = c.req.param('name')
    const png = files.get(name)
    if (!png) return c.json({ error: 'Not found' }, 404)
    if (truncated.has(name)) return halfBody(c, png, { 'content-type': 'image/png' }, png.length)
    return c.body(new Uint8Array(png), 200, { 'content-type': 'image/png', 'content-length': String(png.length) })
  })

  // Inspection and funding, for tests and the demo. Loopback only, like everything here.
  app.get('/_sandbox/state', (c) =>
    c.json({
      network: network.caip2,
      version: options.version ?? 2,
      counters,
      facilitator: facilitator.stats,
      settled: usdc.transfers.length + solana.transfers.length,
      settledTotal: (usdc.settledTotal() + solana.settledTotal()).toString(),
      transfers: [...usdc.transfers, ...solana.transfers].map((t) => ({ ...t, amount: t.amount.toString() })),
      polls,
      jobs: [...jobs.values()].map((job) => ({ id: job.id, route: job.route, payer: job.payer, settled: job.settled?.transaction ?? null })),
    }),
  )
  app.get('/_sandbox/received', (c) => c.json(edits.summary()))
  app.post('/_sandbox/fund', async (c) => {
    const body = (await c.req.json().catch(() => ({}))) as { address?: string; amount?: string }
    if (!body.address || !chainOfAddress(body.address) || !/^\d+$/.test(body.amount ?? '')) return c.json({ error: 'need address (0x or Solana base58) and amount (base units)' }, 400)
    fund(body.address, BigInt(body.amount!))
    return c.json({ address: body.address, balance: balanceOf(body.address).toString() })
  })
  const balanceOf = (address: string) => (chainOfAddress(address) === 'solana' ? solana.balanceOf(address) : usdc.balanceOf(address))
  app.get('/_sandbox/balance/:address', (c) => c.json({ balance: balanceOf(c.req.param('address')).toString() }))

  // The gateway's API lives under /api; the chain's JSON-RPC (rpc.ts) beside it, as its own endpoint.
  const root = new Hono()
  root.route('/api', app)
  const solanaNetwork = network.chain === 'solana' ? network : SOLANA_DEVNET
  const solanaMethods = Object.fromEntries(
    Object.entries(solanaRpcMethods(solana, solanaNetwork)).map(([name, method]) => [
      name,
      (params: unknown[]) => {
        counters.solanaRpc[name] = (counters.solanaRpc[name] ?? 0) + 1
        return method(params)
      },
    ]),
  )
  root.post('/rpc', rpcHandler(usdc, network.chain === 'base' ? network : BASE_SEPOLIA, solanaMethods))
  return { app: root, usdc, solana, facilitator, counters, tuning, jobs, polls, edits, network }
}

/** Drops the TCP connection without an answer, as a reset would. */
function dropConnection(c: Context): Response {
  ;(c.env as { incoming?: IncomingMessage } | undefined)?.incoming?.socket.destroy()
  return new Response(null, { status: 500 })
}

/** Sends the first half of `body`, then drops the connection (it closes mid-body). */
function halfBody(c: Context, body: string | Buffer, headers: Record<string, string>, declaredLength?: number): Response {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new Uint8Array(bytes.subarray(0, Math.floor(bytes.length / 2))))
      setTimeout(() => (c.env as { incoming?: IncomingMessage } | undefined)?.incoming?.socket.destroy(), 20)
    },
  })
  return new Response(stream, { status: 200, headers: { 'content-type': 'application/json', ...headers, ...(declaredLength ? { 'content-length': String(declaredLength) } : {}) } })
}

function origin(c: Context): string {
  return new URL(c.req.url).origin
}
