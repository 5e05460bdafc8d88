/**
 * The sandbox upstream: a local BlockRun look-alike. Same routes and bodies as the gateway, prices
 * from the catalog (plus a per-call fee), a real x402 paywall on Base Sepolia USDC (nothing of
 * value), and real PNGs returned in each of the gateway's result forms.
 *
 * Test-only knobs live here and only here (latency, result forms, noise images); the proxy talks
 * to this server with exactly the code it uses for the real gateway.
 */
import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { Hono, type Context } from 'hono'
import { findModel, parseSize, type ModelEntry } from '../catalog.js'
import { BASE_SEPOLIA, type KnownNetwork } from '../payment/networks.js'
import { sniffImage } from '../store/sniff.js'
import { SandboxFacilitator } from './facilitator.js'
import { Paywall } from './paywall.js'
import { renderImage, renderNoise } from './render.js'
import { SandboxUsdc } from './usdc.js'

/** How the gateway hands back images: hosted URL, data URI, `b64_json`, or a `202` job to poll. */
export type ResultForm = 'url' | 'data_uri' | 'b64_json' | 'job'

/** Per model, the form the gateway uses (Google models answer with data URIs; slow ones with jobs). */
export const GATEWAY_FORMS: Readonly<Record<string, ResultForm>> = {
  'google/nano-banana': 'data_uri',
  'google/nano-banana-pro': 'job',
  'openai/dall-e-3': 'url',
  'openai/gpt-image-1': 'b64_json',
  'black-forest/flux-1.1-pro': 'url',
}

export type SandboxOptions = {
  /** x402 protocol version the paywall speaks. */
  version?: 1 | 2
  network?: KnownNetwork
  payTo?: `0x${string}`
  /** Added to every paid call, base units (the gateway charges about $0.001). */
  fee?: bigint
  /** Delay added before answering every request, ms (stands for the internet). */
  latencyMs?: number
  /** How long a 202 job stays in progress, ms. */
  jobMs?: number
  /** One form for every model, or per model; default GATEWAY_FORMS. */
  forms?: ResultForm | Partial<Record<string, ResultForm>>
  /** Render incompressible noise instead of pictures (large files, for benchmarks). */
  noise?: boolean
  /** Wallets funded at start: address → base units. */
  fund?: Record<string, bigint>
}

export type SandboxCounters = {
  /** Every HTTP request received. */
  requests: number
  /** POSTs to the image routes. */
  imageRequests: number
  /** Image requests that carried a payment header (authorizations seen). */
  authorizations: number
  /** Job polls. */
  polls: number
}

type Job = { id: string; ready: number; images: ImageOut[]; settle: () => Promise<{ ok: boolean; headers: Record<string, string>; body?: unknown }>; settled?: { ok: boolean; headers: Record<string, string>; body?: unknown } }
type ImageOut = { png: Buffer; form: Exclude<ResultForm, 'job'>; revisedPrompt?: string }

export const SANDBOX_PAY_TO: `0x${string}` = '0x000000000000000000000000000000000000b10c'

export function createSandbox(options: SandboxOptions = {}) {
  const usdc = new SandboxUsdc()
  for (const [address, amount] of Object.entries(options.fund ?? {})) usdc.fund(address, amount)
  const facilitator = new SandboxFacilitator(usdc)
  const network = options.network ?? BASE_SEPOLIA
  const paywall = new Paywall({ facilitator, network, payTo: options.payTo ?? SANDBOX_PAY_TO, version: options.version ?? 2 })
  const counters: SandboxCounters = { requests: 0, imageRequests: 0, authorizations: 0, polls: 0 }
  const files = new Map<string, Buffer>()
  const jobs = new Map<string, Job>()
  /** Knobs a test may turn while the sandbox runs (a price change, say). */
  const tuning = { fee: options.fee ?? 1000n }
  const jobMs = options.jobMs ?? 300

  const formFor = (model: string): ResultForm =>
    typeof options.forms === 'string' ? options.forms : options.forms?.[model] ?? GATEWAY_FORMS[model] ?? 'b64_json'

  const app = new Hono()
  app.use(async (c, next) => {
    counters.requests++
    if (options.latencyMs) await sleep(options.latencyMs)
    await next()
  })

  const imageRoute = (edit: boolean) => async (c: Context) => {
    counters.imageRequests++
    const body = (await c.req.json().catch(() => undefined)) as Record<string, unknown> | undefined
    if (!body || typeof body !== 'object') return c.json({ error: 'Invalid JSON body' }, 400)
    const model = typeof body.model === 'string' ? findModel(body.model) : undefined
    if (!model || model.id !== body.model) return c.json({ error: `Unknown model: ${String(body.model)}` }, 400)
    if (edit && !model.edit) return c.json({ error: `Model ${model.id} does not support image editing` }, 400)
    const size = typeof body.size === 'string' ? body.size : '1024x1024'
    if (!model.sizes.includes(size)) return c.json({ error: `Invalid size ${size} for ${model.id}. Accepted sizes: ${model.sizes.join(', ')}` }, 400)
    const n = body.n === undefined ? 1 : Number(body.n)
    if (!Number.isInteger(n) || n < 1 || n > model.maxN) return c.json({ error: `n must be between 1 and ${model.maxN}` }, 400)
    const prompt = typeof body.prompt === 'string' ? body.prompt : ''
    if (!prompt) return c.json({ error: 'prompt is required' }, 400)
    let seed = ''
    if (edit) {
      const checked = await checkEditInputs(body)
      if ('error' in checked) return c.json({ error: checked.error }, 400)
      seed = checked.seed
    }

    if (c.req.header('payment-signature') || c.req.header('x-payment')) counters.authorizations++
    const quote = { amount: model.price * BigInt(n) + tuning.fee, resource: new URL(c.req.url).href, description: `${n} image(s) from ${model.id}` }
    const outcome = await paywall.check(c.req.raw.headers, quote)
    if (outcome.kind === 'respond') return c.json(outcome.body as object, 402, outcome.headers)

    const images = await render(model, size, n, `${prompt}${seed}`)
    const form = formFor(model.id)
    if (form === 'job') {
      const id = `job_${randomBytes(8).toString('hex')}`
      jobs.set(id, { id, ready: Date.now() + jobMs, images, settle: outcome.settle })
      return c.json({ id, status: 'queued', poll_url: `${origin(c)}/v1/jobs/${id}` }, 202)
    }
    const settlement = await outcome.settle()
    if (!settlement.ok) return c.json(settlement.body as object, 402, settlement.headers)
    return c.json({ created: Math.floor(Date.now() / 1000), data: images.map((image) => toItem(image, origin(c))) }, 200, settlement.headers)
  }

  const render = async (model: ModelEntry, size: string, n: number, prompt: string): Promise<ImageOut[]> => {
    const { width, height } = parseSize(size)
    const form = formFor(model.id)
    const itemForm = form === 'job' ? (model.provider === 'google' ? 'data_uri' : 'url') : form
    return Promise.all(
      Array.from({ length: n }, async (_, index) => ({
        png: options.noise ? await renderNoise({ prompt, width, height, index }) : await renderImage({ prompt, width, height, index }),
        form: itemForm,
        ...(model.id === 'openai/dall-e-3' ? { revisedPrompt: `A detailed rendering of: ${prompt.slice(0, 200)}` } : {}),
      })),
    )
  }

  const toItem = (image: ImageOut, base: string) => {
    const extra = image.revisedPrompt ? { revised_prompt: image.revisedPrompt } : {}
    if (image.form === 'b64_json') return { b64_json: image.png.toString('base64'), ...extra }
    if (image.form === 'data_uri') return { url: `data:image/png;base64,${image.png.toString('base64')}`, ...extra }
    const name = `${randomBytes(12).toString('hex')}.png`
    files.set(name, image.png)
    return { url: `${base}/files/${name}`, ...extra }
  }

  app.post('/v1/images/generations', imageRoute(false))
  app.post('/v1/images/image2image', imageRoute(true))

  app.get('/v1/jobs/:id', async (c) => {
    counters.polls++
    const job = jobs.get(c.req.param('id'))
    if (!job) return c.json({ error: 'Unknown job' }, 404)
    if (Date.now() < job.ready) return c.json({ id: job.id, status: 'in_progress' })
    // Jobs settle on the first completed poll, as the gateway does.
    job.settled ??= await job.settle()
    if (!job.settled.ok) return c.json({ id: job.id, status: 'failed', error: 'Settlement failed', details: job.settled.body }, 200, job.settled.headers)
    return c.json({ id: job.id, status: 'completed', created: Math.floor(Date.now() / 1000), data: job.images.map((image) => toItem(image, origin(c))) }, 200, job.settled.headers)
  })

  app.get('/files/:name', (c) => {
    const png = files.get(c.req.param('name'))
    if (!png) return c.json({ error: 'Not found' }, 404)
    return c.body(new Uint8Array(png), 200, { 'content-type': 'image/png', 'content-length': String(png.length) })
  })

  // Inspection and funding, for tests and the demo. Loopback only, like everything here.
  app.get('/_sandbox/state', (c) =>
    c.json({
      network: network.caip2,
      version: options.version ?? 2,
      counters,
      facilitator: facilitator.stats,
      settled: usdc.transfers.length,
      settledTotal: usdc.settledTotal().toString(),
      transfers: usdc.transfers.map((t) => ({ ...t, amount: t.amount.toString() })),
    }),
  )
  app.post('/_sandbox/fund', async (c) => {
    const body = (await c.req.json().catch(() => ({}))) as { address?: string; amount?: string }
    if (!body.address || !/^0x[0-9a-fA-F]{40}$/.test(body.address) || !/^\d+$/.test(body.amount ?? '')) return c.json({ error: 'need address and amount (base units)' }, 400)
    usdc.fund(body.address, BigInt(body.amount!))
    return c.json({ address: body.address, balance: usdc.balanceOf(body.address).toString() })
  })
  app.get('/_sandbox/balance/:address', (c) => c.json({ balance: usdc.balanceOf(c.req.param('address')).toString() }))

  return { app, usdc, facilitator, counters, tuning }
}

function origin(c: Context): string {
  return new URL(c.req.url).origin
}

/** The gateway takes images as data URIs or URLs; the sandbox checks data URIs really are images. */
async function checkEditInputs(body: Record<string, unknown>): Promise<{ seed: string } | { error: string }> {
  const { default: sharp } = await import('sharp')
  const decode = async (field: string, value: unknown) => {
    if (typeof value !== 'string' || !value.startsWith('data:')) return { error: `${field} must be a base64 data URI` }
    const comma = value.indexOf(',')
    const bytes = Buffer.from(value.slice(comma + 1), 'base64')
    if (!sniffImage(bytes.subarray(0, 12))) return { error: `${field} is not a PNG, JPEG or WebP image` }
    const meta = await sharp(bytes).metadata().catch(() => undefined)
    if (!meta?.width || !meta.height) return { error: `${field} does not decode as an image` }
    return { width: meta.width, height: meta.height, seed: `${bytes.length}:${meta.width}x${meta.height}` }
  }
  const image = await decode('image', body.image)
  if ('error' in image) return image
  if (body.mask !== undefined) {
    const mask = await decode('mask', body.mask)
    if ('error' in mask) return mask
    if (mask.width !== image.width || mask.height !== image.height) return { error: `mask is ${mask.width}x${mask.height} but image is ${image.width}x${image.height}` }
  }
  return { seed: ` [edit of ${image.seed}]` }
}
