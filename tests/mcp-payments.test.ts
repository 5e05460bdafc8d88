/**
 * Paying through `imagegen mcp`, driven by the SDK's own Client: the price asked of the user by
 * elicitation above the confirmation threshold (in-process and through a proxy), a call the
 * client gave up on that keeps its image for the retry, and quote_image.
 */
import type { CallToolResult, ElicitRequest } from '@modelcontextprotocol/sdk/types.js'
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js'
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { resolveSettings } from '../server/config.js'
import { startProxy } from '../server/http/server.js'
import { readLedger } from '../server/payment/ledger.js'
import { startMcp, startWorld, textOf } from './helpers/mcp.js'

type Answer = 'accept' | 'decline'

/** A client that answers every elicitation with `answer`, keeping the questions. */
function answering(answer: Answer, questions: ElicitRequest['params'][]) {
  return (client: import('@modelcontextprotocol/sdk/client/index.js').Client) =>
    client.setRequestHandler(ElicitRequestSchema, async (request) => {
      questions.push(request.params)
      return answer === 'accept' ? { action: 'accept', content: {} } : { action: 'decline' }
    })
}

describe('imagegen mcp: confirmation above BLOCKRUN_CONFIRM_ABOVE', () => {
  it.each(['in-process', 'through a proxy'] as const)('%s: the user is asked with the price; yes pays that price once, no pays nothing', async (where) => {
    const world = await startWorld()
    const proxy = where === 'through a proxy' ? await startProxy(resolveSettings({ home: world.home, upstream: world.sandbox.url, port: 0, confirmAbove: '0.05', rpcUrl: world.env.BASE_RPC_URL })) : undefined
    const env = { ...world.env, BLOCKRUN_CONFIRM_ABOVE: '0.05', IMAGEGEN_MCP_PREVIEW: 'off', ...(proxy ? { BLOCKRUN_PROXY_PORT: String(proxy.port) } : {}) }
    const questions: ElicitRequest['params'][] = []
    const yes = await startMcp(env, { client: answering('accept', questions) })
    const no = await startMcp(env, { client: answering('decline', questions) })
    const silent = await startMcp(env)
    try {
      const paid = (await yes.client.callTool({ name: 'generate_image', arguments: { prompt: 'worth asking', model: 'nano-banana' } })) as CallToolResult
      expect(paid.isError, textOf(paid)).toBeFalsy()
      expect(questions).toHaveLength(1)
      expect(questions[0]!.message).toMatch(/^Pay \$0\.0535 USDC for 1 image from google\/nano-banana at 1024x1024\? That is above \$0\.05, the price over which imagegen asks you \(BLOCKRUN_CONFIRM_ABOVE\)\. Paid on Base Sepolia to 0x0{36}b10c; \$5\.00 left of your \$5\.00 24-hour budget\.$/i)
      expect(world.sandbox.usdc.transfers.map((t) => t.amount)).toEqual([53_500n])
      // The gateway was asked twice: the refused call's 402 (its price then answered the quote), and the paid request.
      expect(world.sandbox.counters.imageRequests).toBe(2)
      if (proxy) expect(yes.stderr()).toContain('using the imagegen proxy')

      const declined = (await no.client.callTool({ name: 'generate_image', arguments: { prompt: 'not worth it', model: 'nano-banana' } })) as CallToolResult
      expect(declined.isError).toBe(true)
      expect(textOf(declined)).toBe('The user declined to pay $0.0535 for this request. Nothing was signed. Do not ask again unless the user asks for it.')
      expect(questions).toHaveLength(2)

      // A client that cannot be asked: refused, with the price and how the user raises the threshold.
      const refused = (await silent.client.callTool({ name: 'generate_image', arguments: { prompt: 'nobody to ask', model: 'nano-banana' } })) as CallToolResult
      expect(refused.isError).toBe(true)
      expect(textOf(refused)).toMatch(/^This request costs \$0\.0535, above \$0\.05, .*An agent cannot confirm for the user\.$/)

      // Below the threshold nobody is asked.
      const cheap = (await no.client.callTool({ name: 'generate_image', arguments: { prompt: 'cheap', model: 'gpt-image' } })) as CallToolResult
      expect(cheap.isError, textOf(cheap)).toBeFalsy()
      expect(questions).toHaveLength(2)
      expect(world.sandbox.usdc.transfers.map((t) => t.amount)).toEqual([53_500n, 22_000n])
      expect((await readLedger(world.home)).filter((p) => p.status !== 'settled')).toEqual([])
    } finally {
      await Promise.all([yes.close(), no.close(), silent.close()])
      await proxy?.close()
      await world.close()
    }
  })
})

describe('imagegen mcp: a client that gives up', () => {
  it('a call the client timed out on runs on; the identical retry gets that image without paying; a delivered one is not reused', async () => {
    const world = await startWorld({ forms: 'job', jobMs: 2500 })
    const mcp = await startMcp({ ...world.env, IMAGEGEN_MCP_PREVIEW: 'off', BLOCKRUN_POLL_INTERVAL_SECONDS: '0.1' })
    try {
      const args = { prompt: 'a slow harbour', model: 'gpt-image-2' }
      // The SDK sends notifications/cancelled when its own timeout fires, as clients do at 60 s.
      await expect(mcp.client.callTool({ name: 'generate_image', arguments: args }, undefined, { timeout: 1000 })).rejects.toThrow(/timed out/i)
      expect(world.sandbox.usdc.transfers).toHaveLength(0)
      const retry = (await mcp.client.callTool({ name: 'generate_image', arguments: args })) as CallToolResult
      expect(retry.isError, textOf(retry)).toBeFalsy()
      expect(textOf(retry)).toMatch(/handed back for the same idempotency key: nothing was paid now; it was paid \$0\.064 then\./)
      expect(textOf(retry)).toContain('(paid by the earlier call; nothing now)')
      expect(world.sandbox.usdc.transfers).toHaveLength(1)
      expect(world.sandbox.counters.authorizations).toBe(1)

      // "Make another one": the same arguments after a delivered result make a new image.
      const another = (await mcp.client.callTool({ name: 'generate_image', arguments: args })) as CallToolResult
      expect(another.isError, textOf(another)).toBeFalsy()
      expect(textOf(another)).not.toContain('handed back')
      expect(world.sandbox.usdc.transfers).toHaveLength(2)
    } finally {
      await mcp.close()
      await world.close()
    }
  })

  it('quote_image gives the price the next call pays, and signs nothing', async () => {
    const world = await startWorld()
    const mcp = await startMcp({ ...world.env, IMAGEGEN_MCP_PREVIEW: 'off' })
    try {
      const quote = (await mcp.client.callTool({ name: 'quote_image', arguments: { prompt: 'a quote', model: 'seedream', size: '2048x2048' } })) as CallToolResult
      expect(quote.isError, textOf(quote)).toBeFalsy()
      expect(textOf(quote)).toMatch(/^Price: \$0\.0955 USDC for 1 image from bytedance\/seedream-5-pro at 2048x2048, on Base Sepolia to 0x0{36}b10c .*Nothing was signed\./)
      expect(textOf(quote)).toContain('call with max_price "0.0955"')
      expect(world.sandbox.counters.authorizations).toBe(0)
      const paid = (await mcp.client.callTool({ name: 'generate_image', arguments: { prompt: 'a quote', model: 'seedream', size: '2048x2048', max_price: '0.0955' } })) as CallToolResult
      expect(paid.isError, textOf(paid)).toBeFalsy()
      expect(world.sandbox.usdc.transfers.map((t) => t.amount)).toEqual([95_500n])
      expect(textOf(paid)).toMatch(/Receipt: [0-9a-f-]{36}\./)
      await sleep(0)
    } finally {
      await mcp.close()
      await world.close()
    }
  })
})
