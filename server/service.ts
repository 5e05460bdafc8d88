/**
 * ImageService: the one pipeline every front door uses.
 *
 *   validate (schemas) → resolve model/size (catalog) → resolve inputs (edits) → pay and call the
 *   upstream (payer: policy, budget, ledger) → store images → result (paths, URLs, cost)
 *
 * The HTTP routes, the MCP server and the OpenClaw plugin call `generate`/`edit` and render the
 * result their own way; none of them talks to the upstream or the wallet directly.
 */
import { randomUUID } from 'node:crypto'
import type { Settings } from './config.js'
import { ImagegenError, invalidRequest, toImagegenError } from './errors.js'
import { formatUsd } from './money.js'
import { Ledger } from './payment/ledger.js'
import { Payer, type PaymentReceipt } from './payment/payer.js'
import { resolveJob, type ResolvedJob } from './resolve.js'
import { checkEditRules } from './edit-rules.js'
import { EditRequest, GenerateRequest, parseInput, QuoteRequest, unsupportedFields } from './schemas.js'
import { Catalog, DEFAULT_EDIT_MODEL, describeEstimate, type ModelList } from './catalog/index.js'
import { ImageStore, type ImageTags, type StoredImage } from './store/images.js'
import { UpstreamClient, type UpstreamImage, type UpstreamRoute } from './upstream/blockrun.js'
import { loadWallet, WalletKeyError, type Wallet } from './wallet/key.js'
import type { InputResolver } from './inputs/resolve.js'
import { streamDownload } from './inputs/download.js'
import { summariseUsage, type UsageReport } from './payment/usage.js'
import { walletStatus, type WalletStatus } from './wallet/status.js'
import { readUsdcBalance, rpcUrlFor } from './wallet/balance.js'
import { startDeadline } from './deadline.js'
import { authorizationStateReader } from './payment/chain-state.js'
import { SolanaRpc } from './payment/solana-rpc.js'
import { needsConsent } from './payment/ceilings.js'
import { priceOf } from './payment/quote.js'
import { IdempotencyStore, type IdempotencyKey } from './receipts/idempotency.js'
import { ReceiptIndex, type ReceiptLine } from './receipts/receipt-index.js'
import { receiptLine, replayResult, requestFingerprint } from './receipts/results.js'
import { receiptView, type ReceiptView } from './receipts/receipt.js'
import type { Quote } from './quote.js'

export type Progress = { message: string; elapsedMs: number }

export type CallOptions = {
  /**
   * The caller's cancellation: a call without an idempotency key stops when its caller leaves
   * (and its job is abandoned); a keyed one runs on, keeps its deadline, and stores its result
   * for the retry.
   */
  signal?: AbortSignal | undefined
  /** The front door shutting down: stops every call, keyed or not. */
  stop?: AbortSignal | undefined
  onProgress?: ((progress: Progress) => void) | undefined
  requestId?: string | undefined
  /** The key (from `Idempotency-Key`, or derived by our tools); a body's `idempotency_key` is the caller's key. */
  idempotency?: IdempotencyKey | undefined
  /** The most the user agreed to pay for this call, when a front door asked them (BLOCKRUN_CONFIRM_ABOVE). */
  consented?: bigint | undefined
}

export type ImageResult = {
  requestId: string
  /** The receipt of this result (`GET /v1/receipts/{id}`); its files carry it in their metadata. */
  receiptId: string
  /** True when this is an earlier request's result, handed back for the same idempotency key (nothing paid now). */
  replayed: boolean
  created: number
  /** The model that ran (full id). */
  model: string
  /** The model as the request named it (an alias, a legacy name, or the default's id). */
  requestedModel: string
  size: string
  images: Array<StoredImage & { url: string; revisedPrompt?: string | undefined }>
  cost: PaymentReceipt | undefined
  /** What the catalog expected the gateway to ask, base units (what was paid is `cost`). */
  estimate: bigint | undefined
  /** What ran differently from what was asked, in words: substitutions, size choices, settings not applied, inputs downscaled, estimate vs paid. */
  notes: string[]
}

export type ImageServiceParameters = {
  settings: Settings
  wallet: Wallet
  /** Base of the URLs handed out for stored images, e.g. http://127.0.0.1:8402 (read per call: the port may be bound later). */
  publicUrl: () => string
  /** Resolves edit inputs (paths, URLs, data URIs); needed only for `edit`. */
  inputs?: InputResolver
}

/** A request ready to pay: the upstream route and body, and what the catalog made of it. */
type Prepared = { route: UpstreamRoute; body: object; job: ResolvedJob; inputs?: number; mask?: boolean }

/** Bytes one result image may have, decoded or downloaded (a 4096x4096 PNG of pure noise is about 50 MB). */
const MAX_RESULT_BYTES = 100 * 1024 * 1024
const PROGRESS_EVERY_MS = 2000
/** ClawRouter's first wait before polling a job; later polls follow Settings.pollIntervalMs. */
const FIRST_POLL_MS = 2000

export class ImageService {
  readonly settings: Settings
  readonly wallet: Wallet
  readonly store: ImageStore
  readonly ledger: Ledger
  readonly catalog: Catalog
  /** The index of what was made (receipts.jsonl), and the idempotency keys (requests.jsonl). */
  readonly receipts: ReceiptIndex
  private readonly keys: IdempotencyStore
  /** Calls running now, keyed ones detached from their callers included: `close` stops them and waits. */
  private readonly running = new Set<Promise<unknown>>()
  private readonly closing = new AbortController()
  private readonly publicUrl: () => string
  private readonly upstream: UpstreamClient
  private readonly inputs: InputResolver | undefined

  constructor({ settings, wallet, publicUrl, inputs }: ImageServiceParameters) {
    this.settings = settings
    this.wallet = wallet
    this.publicUrl = publicUrl
    this.store = new ImageStore(settings.home)
    this.ledger = new Ledger(settings.home)
    this.receipts = new ReceiptIndex(settings.home)
    this.keys = new IdempotencyStore({
      home: settings.home,
      moneyMoved: async (requestId) => (await this.ledger.payments()).some((p) => p.requestId === requestId && ['signed', 'settled', 'unknown'].includes(p.status)),
      runningLimitMs: settings.upstreamTimeoutMs + 10 * 60 * 1000,
    })
    this.inputs = inputs
    // One Solana RPC client for the process: the mint is read once, a blockhash reused for seconds.
    const solanaRpc = wallet.solana ? new SolanaRpc((network) => rpcUrlFor(settings, network)) : undefined
    // Read lazily: nothing is fetched until a request needs the catalog.
    this.catalog = new Catalog({ upstream: settings.upstream, home: settings.home })
    const payer = new Payer({
      address: wallet.address,
      account: wallet.account,
      solana: wallet.solana,
      solanaRpc,
      policy: settings.policy,
      ledger: this.ledger,
      // Only payment errors read the balance (to say how much the wallet holds), within a short bound.
      readBalance: async (network) => {
        const address = network.chain === 'solana' ? wallet.solana?.address : wallet.address
        return address ? readUsdcBalance(rpcUrlFor(settings, network), address, network, 1500) : undefined
      },
      // Only a payment the budget would decline asks the chain (expired authorizations that never settled stop counting).
      authorizationState: authorizationStateReader((network) => rpcUrlFor(settings, network), 3000, solanaRpc),
    })
    // Decoded results go straight into the store as they arrive, never whole in memory.
    this.upstream = new UpstreamClient({
      baseUrl: settings.upstream,
      payer,
      timing: { firstPollMs: Math.min(FIRST_POLL_MS, settings.pollIntervalMs), pollIntervalMs: settings.pollIntervalMs },
      allowPrivateUrls: settings.allowPrivateUrls,
      images: (tags) => this.store.writer({ maxBytes: MAX_RESULT_BYTES, tags }),
      maxImageBytes: MAX_RESULT_BYTES,
    })
  }

  /** Loads (or creates) the wallet named by the settings and builds the service. */
  static async create(settings: Settings, options: Omit<ImageServiceParameters, 'settings' | 'wallet'>): Promise<ImageService> {
    const wallet = await loadWallet({ home: settings.home, key: settings.walletKey, solanaKey: settings.solanaKey })
    if (settings.paymentChain === 'solana' && !wallet.solana) {
      // ClawRouter falls back to Base here; paying from a wallet the user did not choose is worse than not starting.
      throw new WalletKeyError(
        `The payment chain is Solana (${settings.paymentChainSource}) but this wallet has no Solana key: ${wallet.solanaNote ?? `no mnemonic in ${settings.home}`} and no BLOCKRUN_SOLANA_KEY. ` +
          'Set BLOCKRUN_SOLANA_KEY, restore the mnemonic, or pay on Base with BLOCKRUN_PAYMENT_CHAIN=base.',
      )
    }
    return new ImageService({ settings, wallet, ...options })
  }

  async generate(input: unknown, options: CallOptions = {}): Promise<ImageResult> {
    const request = parseInput(GenerateRequest, input)
    return this.call('/v1/images/generations', request, options, () => this.prepareGenerate(request))
  }

  async edit(input: unknown, options: CallOptions = {}): Promise<ImageResult> {
    const request = parseInput(EditRequest, input)
    return this.call('/v1/images/image2image', request, options, (signal) => this.prepareEdit(request, signal))
  }

  /**
   * What a generation (or, with `image`, an edit) would cost, from the gateway's own 402 (or its
   * fresh requirements), with the policy's verdict, the budget left and whether the user must
   * confirm it. Nothing is signed; edit inputs are read and checked as for the paid call.
   */
  async quote(input: unknown, options: Pick<CallOptions, 'signal'> = {}): Promise<Quote> {
    const request = parseInput(QuoteRequest, input)
    const kind = request.image === undefined ? 'generate' : 'edit'
    const deadline = startDeadline(this.settings.upstreamTimeoutMs, options.signal)
    try {
      const { route, body, job } = kind === 'edit' ? await this.prepareEdit({ ...request, image: request.image! }, deadline.signal) : await this.prepareGenerate(request)
      const context = { requestId: randomUUID(), endpoint: route, model: job.model.id, size: job.size, n: job.n, signal: deadline.signal }
      const priced = await this.upstream.quote(route, body, context)
      const { policy } = this.settings
      const price = 'free' in priced ? undefined : priceOf(priced.required, policy)
      const used = await this.ledger.spentLastDay()
      const remaining = policy.dailyBudget > used ? policy.dailyBudget - used : 0n
      const amount = price?.amount ?? 0n
      const fits = amount <= remaining
      return {
        kind,
        model: job.model.id,
        requestedModel: job.requestedModel,
        size: job.size,
        n: job.n,
        ...(price ?? { amount: 0n, network: undefined, networkLabel: undefined, chain: undefined, asset: undefined, payTo: undefined, maxTimeoutSeconds: undefined, policy: { allowed: true as const } }),
        source: 'free' in priced ? 'free' : priced.cached ? 'cached' : 'upstream',
        estimate: job.estimate?.amount,
        allowed: (price?.policy.allowed ?? true) && fits,
        budget: { daily: policy.dailyBudget, used, remaining, fits },
        confirmation: { above: policy.confirmAbove, needed: needsConsent(amount, policy.confirmAbove) },
        notes: job.notes,
      }
    } catch (error) {
      if (deadline.expired && !options.signal?.aborted) throw new ImagegenError({ status: 504, type: 'timeout_error', code: 'upstream_timeout', message: 'The gateway did not answer the quote in time. Nothing was signed.' })
      throw error
    } finally {
      deadline.clear()
    }
  }

  /** One receipt, joined with the ledger (`GET /v1/receipts/{id}`). */
  async receipt(id: string): Promise<ReceiptView | undefined> {
    const line = this.receipts.find(id)
    return line && receiptView(line, await this.ledger.payments(), (file) => this.urlFor(file))
  }

  /** Receipts newest first, `limit` at a time after the receipt `before`. */
  async receiptPage({ before, limit = 50 }: { before?: string | undefined; limit?: number } = {}): Promise<{ data: ReceiptView[]; has_more: boolean }> {
    const page = this.receipts.page({ before, limit })
    const ledger = await this.ledger.payments()
    return { data: page.items.map((line) => receiptView(line, ledger, (file) => this.urlFor(file))), has_more: page.more }
  }

  /** The image models the gateway offers now (live catalog, else the bundled table), with where that comes from. */
  models(): Promise<ModelList> {
    return this.catalog.list()
  }

  /** Address, network, balance (when readable) and how to fund. */
  walletStatus(): Promise<WalletStatus> {
    return walletStatus(this.settings, this.wallet)
  }

  /** Spend per day and model over the last `days` days, with the budget left. */
  async usage(days = 30): Promise<UsageReport> {
    return summariseUsage(await this.ledger.payments(), { days, dailyBudget: this.settings.policy.dailyBudget })
  }

  /** The URL a stored image is served at. */
  urlFor(file: string): string {
    return `${this.publicUrl().replace(/\/+$/, '')}/images/${file}`
  }

  /** Stops calls still running (keyed ones detached from their callers too), lets them record their outcome, then closes the files. */
  async close(): Promise<void> {
    this.closing.abort(new DOMException('The image service is shutting down.', 'AbortError'))
    await Promise.race([Promise.allSettled([...this.running]), new Promise((resolve) => setTimeout(resolve, 2000).unref())])
    this.catalog.close()
    await Promise.all([this.ledger.close(), this.receipts.close(), this.keys.close()])
  }

  /**
   * One paid call: without a key, run for the caller; with one (idempotency.ts), claim it: hand
   * back an earlier result, refuse, or run detached from the caller (the deadline and shutdown
   * still apply) and store the outcome under the key.
   */
  private async call(route: UpstreamRoute, request: GenerateRequest | EditRequest, options: CallOptions, prepare: (signal: AbortSignal) => Promise<Prepared>): Promise<ImageResult> {
    const key = keyOf(request, options)
    const ceilings = { maxPrice: request.max_price, consented: options.consented }
    const run = (requestId: string, signal: AbortSignal | undefined) =>
      this.track(async () => {
        const prepared = await prepare(AbortSignal.any([signal, this.closing.signal].filter((s): s is AbortSignal => s !== undefined)))
        return this.run(prepared, { ...options, signal, requestId }, ceilings, request)
      })
    if (!key) return run(options.requestId ?? randomUUID(), options.signal)
    const claim = await this.keys.claim(key, requestFingerprint(route, request), options.requestId ?? randomUUID())
    if (claim.kind === 'refused') throw claim.error
    if (claim.kind === 'replay') {
      const line = this.receipts.find(claim.id)
      if (!line) throw new ImagegenError({ status: 409, type: 'invalid_request_error', code: 'idempotency_key_in_use', message: `The result of the earlier request with this idempotency key (receipt ${claim.id}) is not in this home's index.` })
      const result = await replayResult(line, await this.ledger.payments(), (file) => this.urlFor(file))
      if (!options.signal?.aborted) await this.keys.delivered(key.key, claim.id)
      return result
    }
    try {
      // Detached: the caller's leaving does not stop it; options.stop and the deadline do.
      const result = await run(claim.id, options.stop)
      await this.keys.done(key.key, claim.id, !options.signal?.aborted)
      return result
    } catch (error) {
      const moved = (await this.ledger.payments()).some((p) => p.requestId === claim.id && ['signed', 'settled', 'unknown'].includes(p.status))
      await this.keys.failed(key.key, claim.id, toImagegenError(error), moved).catch(() => {})
      throw error
    } finally {
      this.keys.release(key.key)
    }
  }

  private track<T>(work: () => Promise<T>): Promise<T> {
    const promise = work()
    this.running.add(promise)
    const forget = () => void this.running.delete(promise)
    promise.then(forget, forget)
    return promise
  }

  private async prepareGenerate(request: Omit<GenerateRequest, 'max_price' | 'idempotency_key'>): Promise<Prepared> {
    const view = await this.catalog.lookup(request.model ?? this.settings.defaultModel)
    const job = resolveJob({ ...request, defaultModel: this.settings.defaultModel, unsupported: unsupportedFields(request) }, view)
    const body = { model: job.model.id, prompt: job.prompt, size: job.size, n: job.n, ...(job.quality ? { quality: job.quality } : {}) }
    return { route: '/v1/images/generations', body, job }
  }

  private async prepareEdit(request: Omit<EditRequest, 'max_price' | 'idempotency_key'>, signal: AbortSignal | undefined): Promise<Prepared> {
    const view = await this.catalog.lookup(request.model ?? DEFAULT_EDIT_MODEL)
    const job = resolveJob({ ...request, defaultModel: this.settings.defaultModel, forEdit: true, unsupported: unsupportedFields(request) }, view)
    const images = typeof request.image === 'string' ? [request.image] : request.image
    // How many images and whether a mask, on this model: refused before any input is read.
    checkEditRules(job.model, { images: images.length, mask: request.mask !== undefined }, view.models)
    if (!this.inputs) throw new ImagegenError({ status: 501, type: 'server_error', message: 'Editing is not available in this process.' })
    // Inputs are resolved and checked before anything is paid; our own /images URLs are read from the store.
    const inputs = await this.inputs.resolve({ images, mask: request.mask, signal, ownBaseUrl: this.publicUrl() })
    job.notes.push(...inputs.notes)
    // One image goes as a string, several as an array (the gateway's image2image shape, as Franklin sends it).
    const image = inputs.images.length === 1 ? inputs.images[0] : inputs.images
    const body = { model: job.model.id, prompt: job.prompt, size: job.size, n: job.n, image, ...(inputs.mask ? { mask: inputs.mask } : {}) }
    return { route: '/v1/images/image2image', body, job, inputs: images.length, mask: request.mask !== undefined }
  }

  private async run(prepared: Prepared, options: CallOptions & { requestId: string }, ceilings: { maxPrice?: bigint | undefined; consented?: bigint | undefined }, request: GenerateRequest | EditRequest): Promise<ImageResult> {
    const { route, body, job } = prepared
    const requestId = options.requestId
    const started = Date.now()
    const tags: ImageTags = { model: job.model.id, receipt: requestId }
    const deadline = startDeadline(this.settings.upstreamTimeoutMs, AbortSignal.any([options.signal, this.closing.signal].filter((s): s is AbortSignal => s !== undefined)))
    const { signal } = deadline
    const report = (message: string) => options.onProgress?.({ message, elapsedMs: Date.now() - started })
    let lastReport = 0
    const ticker = options.onProgress
      ? setInterval(() => {
          if (Date.now() - lastReport >= PROGRESS_EVERY_MS - 50)
            report(`waiting for ${job.model.id}, ${Math.round((Date.now() - started) / 1000)} s`)
        }, PROGRESS_EVERY_MS)
      : undefined
    try {
      report(`requesting ${job.n} image${job.n === 1 ? '' : 's'} from ${job.model.id} (${job.size})`)
      const result = await this.upstream.post(route, body, {
        requestId,
        endpoint: route,
        model: job.model.id,
        size: job.size,
        n: job.n,
        ...ceilings,
        signal,
        tags,
        onProgress: (message) => {
          lastReport = Date.now()
          report(message)
        },
      })
      report('saving images')
      const images = []
      for (const image of result.images) images.push(await this.save(image, signal, tags))
      const notes = [...job.notes]
      const paid = result.payment?.amount
      if (job.estimate && paid !== undefined && paid !== job.estimate.amount)
        notes.push(`The catalog estimated ${describeEstimate(job.estimate, job.n)}; the gateway asked ${formatUsd(paid)}, and that is what was paid.`)
      const done: ImageResult = {
        requestId,
        receiptId: requestId,
        replayed: false,
        created: Math.floor(started / 1000),
        model: job.model.id,
        requestedModel: job.requestedModel,
        size: job.size,
        images,
        cost: result.payment,
        estimate: job.estimate?.amount,
        notes,
      }
      // The index of what was made: the receipt is on disk before the answer leaves.
      await this.receipts.append(receiptLine({ result: done, route, started, prompt: job.prompt, quality: job.quality, inputs: prepared.inputs, mask: prepared.mask, request }))
      return done
    } catch (error) {
      if (error instanceof ImagegenError && error.code === 'max_per_request') throw withCountAdvice(error, job, this.settings.policy.maxPerRequest)
      if (deadline.expired && !options.signal?.aborted) {
        throw new ImagegenError({
          status: 504,
          type: 'timeout_error',
          code: 'upstream_timeout',
          message:
            `${job.model.id} did not finish within ${Math.round(this.settings.upstreamTimeoutMs / 1000)} s. ` +
            'A job still running was abandoned: BlockRun settles a job only when a poll collects it, so an abandoned job is not charged. ' +
            'Every authorization signed is recorded in the ledger. Try again or raise BLOCKRUN_TIMEOUT_SECONDS.',
        })
      }
      throw error
    } finally {
      deadline.clear()
      if (ticker) clearInterval(ticker)
    }
  }

  private async save(image: UpstreamImage, signal: AbortSignal, tags: ImageTags) {
    let stored: StoredImage
    if (image.kind === 'stored') {
      stored = image.image
    } else if (image.kind === 'bytes') {
      stored = await this.store.saveBytes(image.data, tags)
    } else {
      stored = await this.download(image.url, signal, tags)
    }
    return { ...stored, url: this.urlFor(stored.file), revisedPrompt: image.revisedPrompt }
  }

  /**
   * Streams a result URL into the store through the guarded downloader: the URL comes from the
   * upstream, so it must not steer the proxy into the user's network (cloud metadata, the
   * router, a LAN service). Link-local, metadata and reserved addresses are always refused;
   * loopback and private ones only on the upstream's own origin (the sandbox, a self-hosted
   * gateway) or with allowPrivateUrls. Redirects are followed by hand and re-checked.
   */
  private async download(url: string, signal: AbortSignal, tags: ImageTags): Promise<StoredImage> {
    const failed = (message: string, cause?: unknown) => new ImagegenError({ status: 502, type: 'upstream_error', code: 'download_failed', message, cause })
    if (!URL.canParse(url)) throw failed('The upstream returned an image URL that is not a valid URL.')
    const writer = this.store.writer({ maxBytes: MAX_RESULT_BYTES, notImage: 'The upstream image URL returned something that is not an image.', tags })
    try {
      await streamDownload(
        new URL(url),
        {
          field: 'image',
          maxBytes: MAX_RESULT_BYTES,
          allowPrivate: this.settings.allowPrivateUrls,
          allowPrivateOrigins: [new URL(this.settings.upstream).origin],
          signal,
          // The service's signal carries the upstream deadline; this only has to be no shorter.
          timeoutMs: this.settings.upstreamTimeoutMs,
          refuse: (message) => failed(`Downloading the generated image failed: ${message}`),
        },
        (chunk) => writer.write(chunk),
      )
      return await writer.finish()
    } catch (error) {
      await writer.abort()
      throw error
    }
  }
}

/**
 * The call's idempotency key: the header's (or a key our tools derived), else the body's
 * `idempotency_key`; both, different, is a 400.
 */
function keyOf(request: { idempotency_key?: string | undefined }, options: CallOptions): IdempotencyKey | undefined {
  const body = request.idempotency_key
  if (options.idempotency && body !== undefined && body !== options.idempotency.key)
    throw invalidRequest('The Idempotency-Key header and the body\'s idempotency_key differ; send one of them.', 'idempotency_key', 'idempotency_key_conflict')
  return options.idempotency ?? (body === undefined ? undefined : { key: body, reuse: 'always' })
}

/**
 * A per-request cap refusal, told what n has to do with it: when one image fits under the cap and
 * the n asked for does not, the message says how many fit.
 */
function withCountAdvice(error: ImagegenError, job: ResolvedJob, cap: bigint): ImagegenError {
  const one = job.estimate && job.n > 1 ? job.estimate.perImage + job.estimate.fee : undefined
  if (one === undefined || one > cap) return error
  const fit = Number((cap - job.estimate!.fee) / job.estimate!.perImage)
  const advice = ` It is n = ${job.n} that takes it over: one ${job.model.id} image at ${job.size} is about ${formatUsd(one)}, so up to ${fit} fit under the cap in one request; ask for ${fit === 1 ? 'one' : `${fit} or fewer`}, or make several requests.`
  return new ImagegenError({ status: error.status, type: error.type, message: `${error.message}${advice}`, param: error.param, code: error.code, cause: error })
}

/** One-line cost text for people: "$0.05 USDC on eip155:84532 (tx 0xabc…)". */
export function describeCost(cost: PaymentReceipt | undefined): string {
  if (!cost) return 'no payment was asked'
  const tx = cost.transaction ? `, tx ${cost.transaction}` : cost.status === 'unknown' ? ', settlement unconfirmed' : ''
  return `${formatUsd(cost.amount)} USDC on ${cost.network}${tx}`
}
