/**
 * The tools, defined once for every agent front door. The MCP server and the OpenClaw plugin
 * render the same ToolOutput their own way; neither knows anything about payment or upstreams.
 */
import * as v from 'valibot'
import { MODELS } from '../server/catalog.js'
import type { ImagegenCore } from '../server/core/index.js'
import { formatUsd } from '../server/money.js'
import { EditInput, GenerateInput, jsonSchemaOf, parseInput } from '../server/schemas.js'
import type { CallOptions, ImageResult } from '../server/service.js'
import { describeCost } from '../server/service.js'
import { describeBudget } from '../server/payment/usage.js'

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
  execute(core: ImagegenCore, input: unknown, options: CallOptions): Promise<ToolOutput>
}

const prices = MODELS.map((m) => m.price)
const priceRange = `${formatUsd(prices.reduce((a, b) => (a < b ? a : b)))}–${formatUsd(prices.reduce((a, b) => (a > b ? a : b)))}`
const modelGuide = MODELS.map((m) => `- ${m.aliases[0]} (${m.id}), ${formatUsd(m.price)}/image, sizes ${m.sizes.join(', ')}: ${m.bestFor}`).join('\n')

export const generateImageTool: ToolDefinition = {
  name: 'generate_image',
  title: 'Generate image',
  description:
    `Generate images from a text prompt. Costs money: ${priceRange} per image in USDC, paid automatically from the user's BlockRun wallet (x402).\n` +
    'Choosing a model: default nano-banana; "high res"/"large"/poster → banana-pro (2048x2048 or 4096x4096); "photorealistic" or "dall-e" → dall-e-3; artistic styles or content other models refuse → flux; cheapest → gpt-image.\n' +
    'Choosing a size: default 1024x1024; portrait 1024x1792 (nano-banana, banana-pro, dall-e-3) or 832x1216 (flux) or 1024x1536 (gpt-image); landscape 1792x1024 (dall-e-3, banana-pro), 1216x832 (nano-banana, flux) or 1536x1024 (gpt-image).\n' +
    `Models:\n${modelGuide}\n` +
    'The result gives each image\'s local file path and URL; show the image to the user (markdown ![](url) or the path).',
  inputSchema: jsonSchemaOf(GenerateInput),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  async execute(core, input, options) {
    return imageOutput(await core.generate(parseInput(GenerateInput, input), options), core.mode === 'remote')
  },
}

export const editImageTool: ToolDefinition = {
  name: 'edit_image',
  title: 'Edit image',
  description:
    `Edit an existing image with a text instruction (openai/gpt-image-1, ${formatUsd(MODELS.find((m) => m.edit)!.price)} per image, paid automatically from the user's BlockRun wallet).\n` +
    '`image` may be an http(s) URL, a local file path (absolute or ~/...), a data: URI, or the path or URL of an earlier result: pass it as is, no base64 conversion needed.\n' +
    'Optional `mask`: an image of the same size; white areas are edited, black areas kept. Sizes: 1024x1024, 1536x1024, 1024x1536.',
  inputSchema: jsonSchemaOf(EditInput),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  async execute(core, input, options) {
    return imageOutput(await core.edit(parseInput(EditInput, input), options), core.mode === 'remote')
  },
}

const NoInput = v.object({})

export const listImageModelsTool: ToolDefinition = {
  name: 'list_image_models',
  title: 'List image models',
  description: 'List the image models with their prices, accepted sizes and what each is best for. Free, read-only.',
  inputSchema: jsonSchemaOf(NoInput),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async execute(core) {
    const { data } = core.models()
    const text = data.map((m) => `${m.id} (alias ${m.aliases[0]}): ${m.price_usd}/image; sizes ${m.sizes.join(', ')}; up to ${m.max_n} per request${m.edit ? '; can edit images' : ''}. ${m.best_for}.`).join('\n')
    return { text, images: [], details: { models: data } }
  },
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
    const text = [
      `Wallet ${wallet.address} on ${wallet.network}.`,
      `Balance: ${wallet.balanceUsd ? `${wallet.balanceUsd} USDC` : wallet.balanceNote ?? 'unavailable'}.`,
      // A wallet with a Solana side: both accounts, and which chain pays.
      ...(wallet.accounts && (wallet.accounts.length > 1 || wallet.paymentChain !== 'base')
        ? [
            `Pays on ${wallet.paymentChain === 'solana' ? 'Solana' : 'Base'}.`,
            ...wallet.accounts.map((a) => `${a.chain === 'solana' ? 'Solana' : 'Base'} ${a.address}: ${a.balanceUsd ? `${a.balanceUsd} USDC` : a.balanceNote ?? 'unavailable'}${a.paying ? ' (pays)' : ''}.`),
          ]
        : []),
      `Spent in the last ${days} day(s): ${usage.totalUsd} in ${usage.payments} payment(s).`,
      `${describeBudget(usage.budget)}.`,
      wallet.fund,
    ].join('\n')
    return { text, images: [], details: { wallet, usage } }
  },
}

export const TOOLS: readonly ToolDefinition[] = [generateImageTool, editImageTool, listImageModelsTool, walletStatusTool]

export function findTool(name: string): ToolDefinition | undefined {
  return TOOLS.find((t) => t.name === name)
}

/**
 * The text every client can show, even those that display no images. `urlServed` says whether a
 * proxy serves the URLs right now (remote core); in-process results are files first.
 */
export function imageOutput(result: ImageResult, urlServed = true): ToolOutput {
  const lines = result.images.map((image, i) =>
    [
      `Image ${i + 1}: ${image.path}`,
      `  URL: ${image.url}${urlServed ? '' : ' (served while the imagegen proxy runs on that port)'}`,
      `  ${result.model}, ${result.size}, ${image.mimeType}, ${image.bytes} bytes`,
      ...(image.revisedPrompt ? [`  Revised prompt: ${image.revisedPrompt}`] : []),
    ].join('\n'),
  )
  lines.push(`Cost: ${describeCost(result.cost)}.`)
  lines.push(
    urlServed
      ? `Show it with ![image](${result.images[0]?.url ?? ''}) or open the file path.`
      : 'Show it by opening the file path; the URL works once `imagegen serve` runs with the same home.',
  )
  return {
    text: lines.join('\n'),
    images: result.images.map(({ path, url, file, mimeType, bytes }) => ({ path, url, file, mimeType, bytes })),
    details: {
      model: result.model,
      size: result.size,
      images: result.images.map(({ path, url, file, mimeType, bytes, revisedPrompt }) => ({ path, url, file, mimeType, bytes, ...(revisedPrompt ? { revisedPrompt } : {}) })),
      cost: result.cost ? { usd: result.cost.usd, amount: result.cost.amount.toString(), network: result.cost.network, transaction: result.cost.transaction ?? null, status: result.cost.status } : null,
    },
  }
}
