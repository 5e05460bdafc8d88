/**
 * Above the confirmation threshold, OpenClaw asks the user: the plugin's `before_tool_call` hook
 * quotes the paid call (nothing signed) and asks for approval with the price; only the host's
 * "allow once" for that tool call lets it pay, at no more than the price approved. The built entry
 * with a recording stand-in for OpenClaw's api, against the sandbox; OpenClaw itself runs the hook
 * in tests/acceptance/openclaw.sh.
 */
import { rm } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startSandbox, type RunningSandbox } from '../server/sandbox/server.js'
import { loadWallet } from '../server/wallet/key.js'
import { fakeApi, loadEntry } from './helpers/openclaw-host.js'
import { freePort } from './helpers/processes.js'
import { tempHome } from './helpers/stack.js'

describe('OpenClaw approvals above the confirmation threshold', () => {
  let sandbox: RunningSandbox
  let home: string

  beforeAll(async () => {
    home = await tempHome()
    const { address } = await loadWallet({ home })
    sandbox = await startSandbox({ fund: { [address]: 10_000_000n } })
  })
  afterAll(async () => {
    await sandbox.close()
    await rm(home, { recursive: true, force: true })
  })

  const register = async (extra: Record<string, unknown> = {}) => {
    const { api, registered } = fakeApi('full', { home, upstream: sandbox.url, port: await freePort(), ...extra })
    ;(await loadEntry()).register(api)
    const hook = registered.hooks.find((h) => h.name === 'before_tool_call')!
    const tool = (name: string) => registered.tools.find((t) => t.name === name)
    return { hook, tool }
  }
  const text = (result: { content: Array<{ type: string; text?: string }> }) => result.content.map((c) => c.text ?? '').join('\n')

  it('asks with the price, pays once after "allow once", at that price; nothing is signed while asking', async () => {
    const { hook, tool } = await register({ confirmAbove: '0.05' })
    expect(hook.options).toEqual({ matcher: ['generate_image', 'edit_image'] })
    const params = { prompt: 'a fox in snow', model: 'nano-banana' }
    const transfers = sandbox.usdc.transfers.length
    const authorizations = sandbox.counters.authorizations
    const decision = await hook.handler({ toolName: 'generate_image', params, toolCallId: 'call-1' }, {})
    // nano-banana at 1024x1024 is $0.0535: above $0.05.
    expect(decision.requireApproval).toMatchObject({ title: 'Pay $0.0535 USDC for an image?', severity: 'warning', allowedDecisions: ['allow-once', 'deny'] })
    expect(decision.requireApproval.description).toContain('Pay $0.0535 USDC for 1 image from google/nano-banana at 1024x1024?')
    expect(decision.requireApproval.description).toContain('above $0.05')
    expect(decision.params).toBeUndefined()
    expect(sandbox.counters.authorizations).toBe(authorizations)
    decision.requireApproval.onResolution('allow-once')
    const result = await tool('generate_image').execute('call-1', params)
    expect(text(result)).toContain('$0.0535')
    expect(sandbox.usdc.transfers.length).toBe(transfers + 1)
    expect(sandbox.usdc.transfers.at(-1)!.amount).toBe(53_500n)
  })

  it('an agent cannot approve: a call OpenClaw did not approve, or one denied, is refused with its price and pays nothing', async () => {
    const { hook, tool } = await register({ confirmAbove: '0.05' })
    const params = { prompt: 'an owl at night', model: 'nano-banana' }
    const transfers = sandbox.usdc.transfers.length
    // No approval at all for this call id (the hook never asked, or another call was approved).
    const unasked = await tool('generate_image').execute('call-unasked', params).catch((error: Error) => error)
    expect(unasked).toBeInstanceOf(Error)
    expect((unasked as Error).message).toContain('$0.0535')
    const decision = await hook.handler({ toolName: 'generate_image', params, toolCallId: 'call-denied' }, {})
    decision.requireApproval.onResolution('deny')
    await expect(tool('generate_image').execute('call-denied', params)).rejects.toThrow(/\$0\.0535/)
    // An approval is taken once, by its own call: a second call with the same id is asked again.
    const approved = await hook.handler({ toolName: 'generate_image', params, toolCallId: 'call-once' }, {})
    approved.requireApproval.onResolution('allow-once')
    await tool('generate_image').execute('call-once', params)
    await expect(tool('generate_image').execute('call-once', { ...params, prompt: 'an owl at dawn' })).rejects.toThrow(/\$0\.0535/)
    expect(sandbox.usdc.transfers.length).toBe(transfers + 1)
  })

  it('a price above the one approved is declined and named; calls under the threshold and plugins without one are not asked', async () => {
    const { hook, tool } = await register({ confirmAbove: '0.05' })
    const transfers = sandbox.usdc.transfers.length
    const cheap = { prompt: 'a kite', model: 'nano-banana' }
    const decision = await hook.handler({ toolName: 'generate_image', params: cheap, toolCallId: 'call-moved' }, {})
    decision.requireApproval.onResolution('allow-once')
    // The call runs with a costlier request than the one approved ($0.106 for nano-banana-pro).
    await expect(tool('generate_image').execute('call-moved', { ...cheap, model: 'banana-pro' })).rejects.toThrow(/\$0\.106/)
    expect(sandbox.usdc.transfers.length).toBe(transfers)
    // grok-imagine ($0.022) is under the threshold: no question, it just pays.
    expect(await hook.handler({ toolName: 'generate_image', params: { prompt: 'a kite', model: 'grok-imagine' }, toolCallId: 'call-cheap' }, {})).toBeUndefined()
    const { hook: unset } = await register()
    const requests = sandbox.counters.imageRequests
    expect(await unset.handler({ toolName: 'generate_image', params: cheap, toolCallId: 'call-unset' }, {})).toBeUndefined()
    expect(sandbox.counters.imageRequests).toBe(requests)
  })
})
