/**
 * Spending limits given to a command are the ones that apply, even with a proxy of ours on the
 * port. The proxy pays under the limits it was started with; a command started with others
 * (`--max-per-request`, `--confirm-above`, or the same in its environment) used to go through it
 * and have its own limits silently dropped. Now the proxy states its limits in its identity answer
 * and a front door with other limits runs the pipeline itself, over the same wallet and ledger,
 * and says why. Needs `npm run build`.
 */
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from './helpers/processes.js'
import { startCliStack, type Stack } from './helpers/stack.js'

describe('a command with its own spending limits, and a proxy of ours on the port', () => {
  let stack: Stack
  let work: string
  let env: Record<string, string>

  beforeAll(async () => {
    ;({ stack, work, env } = await startCliStack())
    // The stack's proxy (default limits: $0.50 per request, $5.00 a day, never asks) is on this port.
    env = { ...env, BLOCKRUN_PROXY_PORT: new URL(stack.proxy.url).port }
  })
  afterAll(async () => stack.close())

  it('the identity answer states the limits the proxy pays under', async () => {
    const claim = (await (await stack.get(`/v1/identity?nonce=${randomBytes(16).toString('hex')}`)).json()) as { limits: Record<string, unknown> }
    expect(claim.limits).toEqual({ max_per_request: '500000', daily_budget: '5000000', confirm_above: null, networks: ['eip155:8453', 'eip155:84532'], payees: null, max_timeout_seconds: 900 })
  })

  it('with the same limits the command goes through the proxy', async () => {
    const run = await runCli(['generate', 'a fox', '--model', 'cogview'], { env, cwd: work })
    expect(run.code, run.stderr).toBe(0)
    expect(run.stderr).not.toContain('other spending limits')
    expect(run.stderr).toContain(`${stack.proxy.url}/images/`)
  })

  it('--max-per-request below the price: refused before signing, though the proxy would have paid', async () => {
    const before = stack.sandbox.usdc.transfers.length
    const run = await runCli(['generate', 'a kitchen', '--model', 'gpt-image-2', '--max-per-request', '0.01'], { env, cwd: work })
    expect(run.code).not.toBe(0)
    expect(run.stderr).toContain('pays under other spending limits (max per request $0.01 here, $0.50 there)')
    expect(run.stderr).toMatch(/per-request cap of \$0\.01/)
    expect(stack.sandbox.usdc.transfers.length).toBe(before)
  })

  it('BLOCKRUN_CONFIRM_ABOVE in the environment, nobody to ask: confirmation_required, nothing paid', async () => {
    const before = stack.sandbox.usdc.transfers.length
    const run = await runCli(['generate', 'a kitchen', '--model', 'gpt-image-2'], { env: { ...env, BLOCKRUN_CONFIRM_ABOVE: '0.05' }, cwd: work })
    expect(run.code).not.toBe(0)
    expect(run.stderr).toContain('confirm above $0.05 here, unset there')
    expect(run.stderr).toMatch(/confirm/i)
    expect(stack.sandbox.usdc.transfers.length).toBe(before)
  })

  it('a looser limit is the command\'s own too: --max-per-request 2.00 pays what the proxy\'s $0.50 would refuse', async () => {
    const before = stack.sandbox.usdc.transfers.length
    const run = await runCli(['generate', 'four posters', '--model', 'banana-pro', '--size', '4096x4096', '--n', '4', '--max-per-request', '2.00'], { env, cwd: work })
    expect(run.code, run.stderr).toBe(0)
    expect(stack.sandbox.usdc.transfers.length).toBe(before + 1)
    // The image is in the home the proxy serves, so its URL on the proxy's port is valid.
    expect(run.stderr).toContain(`${stack.proxy.url}/images/`)
  })
})
