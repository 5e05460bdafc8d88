import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startStack, type Stack } from './helpers/stack.js'

describe('smoke', () => {
  let stack: Stack
  beforeAll(async () => {
    stack = await startStack({ chain: 'solana' })
  })
  afterAll(async () => stack?.close())
  it('generates', async () => {
    const r = await stack.post('/v1/images/generations', { model: 'google/nano-banana', prompt: 'a cat', size: '1024x1024' })
    console.log(r.status, JSON.stringify(r.body).slice(0, 600))
    console.log(stack.sandbox.counters.solanaRpc, stack.sandbox.solana.transfers)
    expect(r.status).toBe(200)
  })
})
