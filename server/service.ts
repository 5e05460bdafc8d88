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
import { ImagegenError } from './errors.js'
import { formatUsd } from './money.js'
import { Ledger } from './payment/ledger.js'
import { Payer, type PaymentReceipt } from './payment/payer.js'
import { prepareEdit, prepareGenerate, type PrepareContext, type Prepared } from './prepare.js'
import { EditRequest, GenerateRequest, parseInput, QuoteRequest } from './schemas.js'
import { bundledCatalog, Catalog, describeEstimate, type ModelList } from './catalog/index.js'
import { askedNetwork, type AskedNetwork } from './upstream/asked-network.js'
import { ImageStore, type ImageTags, type StoredImage } from './store/images.js'
import { MAX_RESULT_BYTES, storeResultImage } from './store/result-images.js'
import { deadlineFailure, withCountAdvice, withPaymentOutcome } from './failure-outcome.js'
import { UpstreamClient, type UpstreamRoute } from './upstream/blockrun.js'
import { loadWallet, WalletKeyError, type Wallet } from './wallet/key.js'
import type { InputResolver } from './inputs/resolve.js'
import { summariseUsage, type UsageReport } from './payment/usage.js'
import { walletStatus, type WalletStatus } from './wallet/status.js'
import { readUsdcBalance, rpcUrlFor } from './wallet/balance.js'
import { startDeadline } from './deadline.js'
import { authorizationStateReader } from './payment/chain-state.js'
import { SolanaRpc } from './payment/solana-rpc.js'
import type { IdempotencyKey } from './receipts/idempotency.js'
import { callKey, ResultRecords } from './receipts/records.js'
import { receiptLine } from './receipts/results.js'
import type { ReceiptView } from './receipts/receipt.js'
import { assembleQuote, type Quote } from './quote.js'
import { Gallery, type GalleryPage, type GalleryQuery } from './gallery/index.js'
import type { GalleryDetail } from './gallery/view.js'
import { spendView, type SpendView } from './gallery/spend.js'
import { timeZoneOf } from './gallery/days.js'

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

const PROGRESS_EVERY_MS = 2000
/** ClawRouter's first wait before polling a job; later polls follow Settings.pollIntervalMs. */
const FIRST_POLL_MS = 2000

export class ImageService {
  readonly settings: Settings
  readonly wallet: Wallet
  readonly store: ImageStore
  readonly ledger: Ledger
  readonly catalog: Catalog
  /** The index of what was made (receipts.jsonl) and the idempotency keys (requests.jsonl). */
  readonly records: ResultRecords
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
    this.records = new ResultRecords(settings.home, this.ledger, (file) => this.urlFor(file), settings.upstreamTimeoutMs + 10 * 60 * 1000)
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
    return this.call('/v1/images/generations', request, options, () => prepareGenerate(request, this.preparing()))
  }

  async edit(input: unknown, options: CallOptions = {}): Promise<ImageResult> {
    const request = parseInput(EditRequest, input)
    return this.call('/v1/images/image2image', request, options, (signal) => prepareEdit(request, { ...this.preparing(), signal: signal() }))
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
      const { route, body, job } = kind === 'edit' ? await prepareEdit({ ...request, image: request.image! }, { ...this.preparing(), signal: deadline.signal }) : await prepareGenerate(request, this.preparing())
      const context = { requestId: randomUUID(), endpoint: route, model: job.model.id, size: job.size, n: job.n, signal: deadline.signal }
      const priced = await this.upstream.quote(route, body, context)
      if (request.idempotency_key !== undefined) job.notes.push('idempotency_key was not applied: a quote pays nothing, so there is nothing to repeat.')
      return assembleQuote({ kind, job, priced, policy: this.settings.policy, used: await this.ledger.spentLastDay(), maxPrice: request.max_price })
    } catch (error) {
      if (deadline.expired && !options.signal?.aborted) throw new ImagegenError({ status: 504, type: 'timeout_error', code: 'upstream_timeout', message: 'The gateway did not answer the quote in time. Nothing was signed.' })
      throw error
    } finally {
      deadline.clear()
    }
  }

  /** One receipt, joined with the ledger (`GET /v1/receipts/{id}`). */
  receipt(id: string): Promise<ReceiptView | undefined> {
    return this.records.receipt(id)
  }

  /** Receipts newest first, `limit` at a time after the receipt `before`. */
  receiptPage(page: { before?: string | undefined; limit?: number } = {}): Promise<{ data: ReceiptView[]; has_more: boolean }> {
    return this.records.page(page)
  }

  /** The image models the gateway offers now (live catalog, else the bundled table), with where that comes from. */
  models(): Promise<ModelList> {
    return this.catalog.list()
  }

  /** Address, the network the upstream asks payments on, balance (when readable) and how to fund. */
  async walletStatus(): Promise<WalletStatus> {
    return walletStatus(this.settings, this.wallet, await this.askedNetwork())
  }

  private asked: { at: number; hint: Promise<AskedNetwork> } | undefined

  /** The upstream's network, asked unpaid once per 10 minutes (a failure is asked again next time). */
  private async askedNetwork(): Promise<AskedNetwork> {
    if (!this.asked || Date.now() - this.asked.at > 10 * 60 * 1000) {
      const model = bundledCatalog().find(this.settings.defaultModel)?.model.id ?? this.settings.defaultModel
      this.asked = { at: Date.now(), hint: askedNetwork(this.settings.upstream, this.settings.paymentChain, model) }
    }
    const hint = await this.asked.hint
    if ('reason' in hint) this.asked = undefined
    return hint
  }

  /** Spend per day and model over the last `days` days, with the budget left. */
  async usage(days = 30): Promise<UsageReport> {
    return summariseUsage(await this.ledger.payments(), { days, dailyBudget: this.settings.policy.dailyBudget })
  }

  /** The URL a stored image is served at. */
  urlFor(file: string): string {
    return `${this.publicUrl().replace(/\/+$/, '')}/images/${file}`
  }

  /** Every image in the store, newest first, a page at a time, with filters (server/gallery/). */
  gallery(query?: GalleryQuery): Promise<GalleryPage> {
    return this.galleryIndex().page(query)
  }

  /** One image of the gallery with its whole receipt. */
  galleryItem(file: string, tz?: string): Promise<GalleryDetail | undefined> {
    return this.galleryIndex().item(file, tz)
  }

  /** Spend per calendar day (in `tz`) and model over `days`, and the budget's rolling window with what it holds. */
  async spend(days = 30, tz?: string): Promise<SpendView> {
    return spendView(await this.ledger.payments(), { days, tz: timeZoneOf(tz), dailyBudget: this.settings.policy.dailyBudget })
  }

  private galleryReader: Gallery | undefined

  private galleryIndex(): Gallery {
    // Thumbnails are served by the proxy only; where results carry file:// URLs, so does the thumbnail.
    const thumbnail = (file: string) => (this.publicUrl().startsWith('http') ? `${this.publicUrl().replace(/\/+$/, '')}/gallery/thumbnails/${file}` : this.urlFor(file))
    this.galleryReader ??= new Gallery({ receipts: this.records.index, store: this.store, ledger: this.ledger, urls: { image: (file) => this.urlFor(file), thumbnail } })
    return this.galleryReader
  }

  /** Stops calls still running (keyed ones detached from their callers too), lets them record their outcome, then closes the files. */
  async close(): Promise<void> {
    this.closing.abort(new DOMException('The image service is shutting down.', 'AbortError'))
    await Promise.race([Promise.allSettled([...this.running]), new Promise((resolve) => setTimeout(resolve, 2000).unref())])
    this.catalog.close()
    await Promise.all([this.ledger.close(), this.records.close()])
  }

  /**
   * One paid call: without a key, run for the caller; with one (idempotency.ts), claim it: hand
   * back an earlier result, refuse, or run detached from the caller (the deadline and shutdown
   * still apply) and store the outcome under the key.
   */
  private async call(route: UpstreamRoute, request: GenerateRequest | EditRequest, options: CallOptions, prepare: (signal: () => AbortSignal) => Promise<Prepared>): Promise<ImageResult> {
    const key = callKey(request, options)
    const ceilings = { maxPrice: request.max_price, consented: options.consented }
    const run = (requestId: string, signal: AbortSignal | undefined) =>
      this.track(async () => {
        // Only an edit's inputs need a signal (they are read from paths and URLs): made only then.
        const prepared = await prepare(() => (signal ? AbortSignal.any([signal, this.closing.signal]) : this.closing.signal))
        return this.run(prepared, { ...options, signal, requestId }, ceilings, request)
      })
    const id = options.requestId ?? randomUUID()
    if (!key) return run(id, options.signal)
    // Detached: the caller's leaving does not stop a keyed call; options.stop and the deadline do.
    return this.records.keyed({ key, route, request, id, caller: options.signal, run: (claimed) => run(claimed, options.stop) })
  }

  /** What preparing a request needs from the service. */
  private preparing(): PrepareContext {
    return { catalog: this.catalog, defaultModel: this.settings.defaultModel, inputs: this.inputs, ownBaseUrl: this.publicUrl() }
  }

  private track<T>(work: () => Promise<T>): Promise<T> {
    const promise = work()
    this.running.add(promise)
    const forget = () => void this.running.delete(promise)
    promise.then(forget, forget)
    return promise
  }

  private async run(prepared: Prepared, options: CallOptions & { requestId: string }, ceilings: { maxPrice?: bigint | undefined; consented?: bigint | undefined }, request: GenerateRequest | EditRequest): Promise<ImageResult> {
    const { route, body, job } = prepared
    const requestId = options.requestId
    const started = Date.now()
    const tags: ImageTags = { model: job.model.id, receipt: requestId }
    const deadline = startDeadline(this.settings.upstreamTimeoutMs, [options.signal, this.closing.signal])
    const { signal } = deadline
    const report = (message: string) => options.onProgress?.({ message, elapsedMs: Date.now() - started })
    let lastReport = 0
    const ticker = options.onProgress
      ? setInterval(() => {
          if (Date.now() - lastReport >= PROGRESS_EVERY_MS - 50)
            report(`waiting for ${job.model.id}, ${Math.round((Date.now() - started) / 1000)} s`)
        }, PROGRESS_EVERY_MS)
      : undefined
    const images: ImageResult['images'] = []
    const payments = () => this.ledger.payments()
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
      for (const image of result.images) {
        const stored = await storeResultImage(image, {
          store: this.store,
          signal,
          tags,
          upstreamOrigin: new URL(this.settings.upstream).origin,
          allowPrivateUrls: this.settings.allowPrivateUrls,
          timeoutMs: this.settings.upstreamTimeoutMs,
        })
        images.push({ ...stored, url: this.urlFor(stored.file) })
      }
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
      // The index of what was made: the receipt is on disk before the answer leaves. A paid image
      // is still handed over when the index cannot be written; the answer says so.
      await this.records.record(receiptLine({ result: done, route, started, prompt: job.prompt, quality: job.quality, inputs: prepared.inputs, mask: prepared.mask, request })).catch((error: unknown) => {
        notes.push(`The receipt could not be written to ${this.records.index.path} (${error instanceof Error ? error.message : String(error)}); the payment is in the ledger.`)
      })
      return done
    } catch (error) {
      if (error instanceof ImagegenError && error.code === 'max_per_request') throw withCountAdvice(error, job, this.settings.policy.maxPerRequest)
      if (deadline.expired && !options.signal?.aborted) {
        const timeout = await deadlineFailure({ requestId, model: job.model.id, timeoutMs: this.settings.upstreamTimeoutMs, payments })
        throw await withPaymentOutcome(timeout, { requestId, saved: images, payments })
      }
      throw await withPaymentOutcome(error, { requestId, saved: images, payments })
    } finally {
      deadline.clear()
      if (ticker) clearInterval(ticker)
    }
  }
}

/** One-line cost text for people: "$0.05 USDC on eip155:84532 (tx 0xabc…)". */
export function describeCost(cost: PaymentReceipt | undefined): string {
  if (!cost) return 'no payment was asked'
  const tx = cost.transaction ? `, tx ${cost.transaction}` : cost.status === 'unknown' ? ', settlement unconfirmed' : ''
  return `${formatUsd(cost.amount)} USDC on ${cost.network}${tx}`
}
