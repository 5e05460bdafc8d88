/**
 * The tools, defined once for every agent front door. The MCP server and the OpenClaw plugin
 * render the same ToolOutput their own way; neither knows anything about payment or upstreams.
 */
import * as v from 'valibot'
import { bundledCatalog, DEFAULT_EDIT_MODEL, describeSource, type ListedModel, type ModelEntry } from '../server/catalog/index.js'
import type { ImagegenCore } from '../server/core/index.js'
import { formatUsd } from '../server/money.js'
import { EditInput, GenerateInput, jsonSchemaOf, parseInput, QuoteInput } from '../server/schemas.js'
import type { CallOptions, ImageResult } from '../server/service.js'
import { describeCost } from '../server/service.js'
import { describeBudget, describeHeld } from '../server/payment/usage.js'
import { withConsent, type Confirm } from '../server/core/consent.js'
import { describeQuote, quoteJson } from '../server/quote.js'
import { requestFingerprint } from '../server/receipts/results.js'

/**
 * What a front door adds to a tool call: `confirm` asks the user to consent to a price above the
 * confirmation threshold (MCP elicitation), where the client can be asked.
 */
export type ToolCallOptions = CallOptions & { confirm?: Confirm | undefined }

export type ToolImage = { path: string; url: string; file: string; mimeType: string; bytes: number }

/** What a tool produced: text every client can show, the images, and structured details. */
export type ToolOutput = { text: string; images: ToolImage[]; details: Record<string, unknown> }

export type ToolDefinition = {
  name: string
  title: string
  description: string
  /** Plain JSON Schema for the tool's input (no $ref). */
  inputSchema: Record<string, unknown>
  annotations: { readOnlyHint: boolean; destructiveHint: boolean; idempotentHint: boolean; openWorldHint: boolean }
  execute(core: ImagegenCore, input: unknown, options: ToolCallOptions): Promise<ToolOutput>
}

/*
 * The descriptions are written from the bundled table when the module loads (no network at start);
 * they say so, and send the agent to list_image_models for what the gateway offers now. The input
 * schemas name no closed list of models: a model only the live catalog knows is accepted.
 */
const catalog = bundledCatalog()
const allPrices = catalog.models.flatMap((m) => Object.values(m.prices))
const priceRange = `${formatUsd(allPrices.reduce((a, b) => (a < b ? a : b)))}–${formatUsd(allPrices.reduce((a, b) => (a > b ? a : b)))}`
const editors = catalog.models.filter((m) => m.edit)

/** "$0.05" or "$0.02–$0.04 by size". */
function priceText(model: ModelEntry): string {
  const prices = Object.values(model.prices)
  const low = prices.reduce((a, b) => (a < b ? a : b))
  const high = prices.reduce((a, b) => (a > b ? a : b))
  return low === high ? formatUsd(low) : `${formatUsd(low)}–${formatUsd(high)} by size`
}

const modelGuide = catalog.models.map((m) => `- ${m.aliases[0]} (${m.id}), ${priceText(m)} per image, sizes ${m.sizes.join(', ')}${m.edit ? ', edits' : ''}: ${m.bestFor}`).join('\n')

/** Said by both paid tools. */
const PAID_CALL_GUIDE =
  'Paying: for a costly call, get the price with quote_image, tell the user, then call with max_price set to it: a higher price is then refused before anything is signed. ' +
  'A call repeated with the same arguments after it timed out gets the image that call paid for, without paying again; asking again after a result was delivered makes a new image.'

export const generateImageTool: ToolDefinition = {
  name: 'generate_image',
  title: 'Generate image',
  description:
    `Generate images from a text prompt. Costs money: ${priceRange} per image (list price; the gateway adds 5% and $0.001 per request), paid automatically in USDC from the user's BlockRun wallet (x402).\n` +
    'Choosing a model: default nano-banana; "high res"/"large"/4K/poster → banana-pro (2048x2048 or 4096x4096); "photorealistic", text in the image, or the user names DALL·E → gpt-image-2 (slow); artistic or stylised, or content other models refuse → grok-imagine; flagship quality in wide formats → seedream; cheapest → cogview or gpt-image.\n' +
    'Choosing a size: default 1024x1024, which every model takes. For portrait, landscape or a ratio such as 16:9 pass aspect_ratio instead: the nearest size the model takes is used, and the result says which.\n' +
    `Models (the bundled table; list_image_models gives what the gateway offers now, with sizes and prices):\n${modelGuide}\n` +
    'The old names dall-e-3 and flux still work: they run on gpt-image-2 and grok-imagine, and the result says so.\n' +
    "The result gives each image's local file path and URL; show the image to the user (markdown ![](url) or the path) and pass on its notes.\n" +
    PAID_CALL_GUIDE,
  inputSchema: jsonSchemaOf(GenerateInput),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  async execute(core, input, options) {
    return imageOutput(await paidCall(core, 'generate', 'generate_image', GenerateInput, input, options), core.mode === 'remote')
  },
}

const defaultEditModel = catalog.find(DEFAULT_EDIT_MODEL)!.model
const editGuide = editors.map((m) => `- ${m.aliases[0]} (${m.id}), ${priceText(m)} per image: up to ${m.maxInputImages} images, ${m.mask ? 'takes a mask' : 'no mask'}; sizes ${m.sizes.join(', ')}`).join('\n')

export const editImageTool: ToolDefinition = {
  name: 'edit_image',
  title: 'Edit image',
  description:
    "Edit an image, or combine several into one, with a text instruction. Costs money, paid automatically from the user's BlockRun wallet (USDC, x402).\n" +
    `Models that edit (default ${defaultEditModel.aliases[0]}, the cheapest):\n${editGuide}\n` +
    'Choosing: a masked edit, or the cheapest → gpt-image; a change described in words only, with no mask ("make it winter", "remove the people in the back") → nano-banana, Google\'s model made for prompt-based edits (it takes no mask); a high-resolution result → banana-pro.\n' +
    '`image`: the image to edit, as ["/path/photo.jpg"], or several to combine into one picture ("put this logo on this shirt" → [shirt, logo], and say in the prompt which image is which). Each may be an http(s) URL, a local file path (absolute or ~/...), a data: URI, or the path or URL of an earlier result: pass it as is, no base64 conversion needed.\n' +
    '`mask` (only models that take one, and only with one image): the size of the image; white = edit, black = keep (lighter than mid-grey counts as white). A mask with transparent pixels is read the OpenAI way instead: transparent = edit, opaque = keep.\n' +
    'Sizes are the model\'s own; or pass aspect_ratio. Images over 4 MB are downscaled before they are sent (the gateway\'s limit); the result says so.\n' +
    PAID_CALL_GUIDE,
  inputSchema: jsonSchemaOf(EditInput),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  async execute(core, input, options) {
    return imageOutput(await paidCall(core, 'edit', 'edit_image', EditInput, input, options), core.mode === 'remote')
  },
}

export const quoteImageTool: ToolDefinition = {
  name: 'quote_image',
  title: 'Quote image price',
  description:
    'The exact price of a generate_image call (or, with `image`, an edit_image call), asked of the gateway itself, before paying: amount, chain, payee, whether the user\'s limits allow it, and the budget left. Free: nothing is signed or paid. ' +
    'Takes the same fields as generate_image, plus image and mask for an edit. Use it when the user asks what an image costs, before a costly call (large sizes, gpt-image-2, several images), and then call with max_price set to the price.',
  inputSchema: jsonSchemaOf(QuoteInput),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  async execute(core, input, options) {
    const quote = await core.quote(parseInput(QuoteInput, input), { signal: options.signal })
    return { text: describeQuote(quote), images: [], details: { quote: quoteJson(quote) } }
  },
}

/**
 * A paid tool call: validated by the tool's schema, given a key derived from its arguments (unless
 * it carries its own `idempotency_key`), so a retry after the client gave up receives the image that
 * was paid for but never delivered; and asked of the user when its price needs their consent.
 */
async function paidCall(core: ImagegenCore, kind: 'generate' | 'edit', tool: string, schema: typeof GenerateInput | typeof EditInput, input: unknown, options: ToolCallOptions): Promise<ImageResult> {
  const parsed = parseInput(schema, input) as { idempotency_key?: string }
  const args = input as Record<string, unknown>
  const { confirm, ...call } = options
  const idempotency = parsed.idempotency_key === undefined ? { key: `tool-${requestFingerprint(tool, args)}`, reuse: 'undelivered' as const } : undefined
  return withConsent(core, kind, args, { ...call, ...(idempotency ? { idempotency } : {}) }, confirm)
}

const NoInput = v.object({})

export const listImageModelsTool: ToolDefinition = {
  name: 'list_image_models',
  title: 'List image models',
  description: "List the image models the gateway offers now (its live catalog, else the bundled table), with prices by size, accepted sizes, edit support and what each is best for, and which old names run on which model. Free, read-only.",
  inputSchema: jsonSchemaOf(NoInput),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async execute(core) {
    const list = await core.models()
    const lines = [`Models from ${describeSource(list.source)}:`]
    for (const model of list.data) lines.push(describeListedModel(model))
    const old = new Map<string, string[]>()
    for (const [name, { model }] of Object.entries(list.substitutions)) if (!name.includes('/')) old.set(model, [...(old.get(model) ?? []), name])
    if (old.size) lines.push(`Old names that still work: ${[...old].map(([model, names]) => `${names.join(', ')} → ${model}`).join('; ')}.`)
    if (list.delisted.length) lines.push(`No longer offered by the gateway: ${list.delisted.join(', ')}.`)
    return { text: lines.join('\n'), images: [], details: { source: list.source, models: list.data, substitutions: list.substitutions, delisted: list.delisted } }
  },
}

/** One line per model for people: list prices by tier, about what one image costs, sizes, limits. */
function describeListedModel(m: ListedModel): string {
  const tiers = new Map<string, string[]>()
  for (const [size, usd] of Object.entries(m.prices_usd)) tiers.set(usd, [...(tiers.get(usd) ?? []), size])
  const list = tiers.size === 1 ? [...tiers.keys()][0]! : [...tiers].map(([usd, sizes]) => `${usd} (${sizes.join(', ')})`).join(', ')
  const charged = m.estimate_usd ? `one image${tiers.size > 1 && m.default_size ? ` at ${m.default_size}` : ''} about ${m.estimate_usd} with the 5% margin and the $0.001 fee` : ''
  const price = tiers.size ? `${list} list${charged ? ` (${charged})` : ''}` : charged || "price not listed (the gateway's 402 decides)"
  const sizes = m.sizes.length ? `sizes ${m.sizes.join(', ')}` : 'sizes not listed (the gateway decides)'
  const edits = m.edit ? `; edits${m.max_input_images > 1 ? ` (up to ${m.max_input_images} images${m.mask ? ', masks' : ''})` : ''}` : ''
  const quality = m.qualities.length ? `; quality ${m.qualities.join(' or ')}` : ''
  return `${m.id}${m.aliases[0] ? ` (alias ${m.aliases[0]})` : ''}: ${price}; ${sizes}; up to ${m.max_n} per request${edits}${quality}. ${m.best_for}.`
}

const UsageInput = v.object({
  days: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(3650), v.description('Days of spend to summarise (default 1).'))),
})

export const walletStatusTool: ToolDefinition = {
  name: 'wallet_status',
  title: 'Wallet status',
  description: "Show the BlockRun wallet that pays for images: address, USDC balance, spend today and the budget left. Free, read-only. Use it when the user asks about their wallet, balance or spending, or after a payment error.",
  inputSchema: jsonSchemaOf(UsageInput),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  async execute(core, input) {
    const { days = 1 } = parseInput(UsageInput, input ?? {})
    const [wallet, usage] = await Promise.all([core.wallet(), core.usage(days)])
    const balance = (usd: string | null, note: string | undefined) => (usd ? `${usd} USDC` : (note ?? 'unavailable').replace(/^balance unavailable/, 'unavailable'))
    const held = describeHeld(usage)
    const text = [
      `Wallet ${wallet.address} on ${wallet.network}${wallet.networkSource === 'upstream' ? ', the network the upstream asks payments on' : ''}.`,
      `Balance: ${balance(wallet.balanceUsd, wallet.balanceNote)}.`,
      ...(wallet.networkNote ? [`Note: ${wallet.networkNote}.`] : []),
      // A wallet with a Solana side: both accounts, and which chain pays.
      ...(wallet.accounts && (wallet.accounts.length > 1 || wallet.paymentChain !== 'base')
        ? [
            `Pays on ${wallet.paymentChain === 'solana' ? 'Solana' : 'Base'}.`,
            ...wallet.accounts.map((a) => `${a.chain === 'solana' ? 'Solana' : 'Base'} ${a.address}: ${balance(a.balanceUsd, a.balanceNote)}${a.paying ? ' (pays)' : ''}.`),
          ]
        : []),
      `Spent in the last ${days} day(s): ${usage.totalUsd} in ${usage.payments} payment(s).`,
      `${describeBudget(usage.budget)}.`,
      ...(held ? [held] : []),
      wallet.fund,
      ...(core.why ? [`Note: ${core.why}`] : []),
    ].join('\n')
    return { text, images: [], details: { wallet, usage } }
  },
}

export const TOOLS: readonly ToolDefinition[] = [generateImageTool, editImageTool, quoteImageTool, listImageModelsTool, walletStatusTool]

export function findTool(name: string): ToolDefinition | undefined {
  return TOOLS.find((t) => t.name === name)
}

/**
 * The text every client can show, even those that display no images. `urlServed` says whether a
 * proxy serves the URLs right now (remote core); in-process results are files first.
 */
export function imageOutput(result: ImageResult, urlServed = true): ToolOutput {
  // A file:// URL (no proxy of ours can serve on the port) is the file itself.
  const fileUrls = result.images.every((image) => image.url.startsWith('file:'))
  const lines = result.images.map((image, i) =>
    [
      `Image ${i + 1}: ${image.path}`,
      `  URL: ${image.url}${urlServed || fileUrls ? '' : ' (served while the imagegen proxy runs on that port)'}`,
      `  ${result.model}, ${result.size}, ${image.mimeType}, ${image.bytes} bytes`,
      ...(image.revisedPrompt ? [`  Revised prompt: ${image.revisedPrompt}`] : []),
    ].join('\n'),
  )
  lines.push(`Cost: ${describeCost(result.cost)}${result.replayed ? ' (paid by the earlier call; nothing now)' : ''}. Receipt: ${result.receiptId}.`)
  for (const note of result.notes) lines.push(`Note: ${note}`)
  lines.push(
    urlServed
      ? `Show it with ![image](${result.images[0]?.url ?? ''}) or open the file path.`
      : fileUrls
        ? 'Show it by opening the file path.'
        : 'Show it by opening the file path; the URL works once `imagegen serve` runs with the same home.',
  )
  return {
    text: lines.join('\n'),
    images: result.images.map(({ path, url, file, mimeType, bytes }) => ({ path, url, file, mimeType, bytes })),
    details: {
      model: result.model,
      receiptId: result.receiptId,
      ...(result.replayed ? { replayed: true } : {}),
      ...(result.requestedModel !== result.model ? { requestedModel: result.requestedModel } : {}),
      size: result.size,
      notes: result.notes,
      estimate: result.estimate === undefined ? null : { usd: formatUsd(result.estimate), amount: result.estimate.toString() },
      images: result.images.map(({ path, url, file, mimeType, bytes, sha256, revisedPrompt }) => ({ path, url, file, mimeType, bytes, sha256, ...(revisedPrompt ? { revisedPrompt } : {}) })),
      cost: result.cost ? { usd: result.cost.usd, amount: result.cost.amount.toString(), network: result.cost.network, transaction: result.cost.transaction ?? null, status: result.cost.status } : null,
    },
  }
}
