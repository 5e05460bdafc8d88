/**
 * The pipeline's deadline: it fires with a TimeoutError and says it expired, it passes the
 * caller's cancellation on with the caller's reason, and once cleared it holds no timer and no
 * listener on the caller's signal.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { startDeadline } from '../server/deadline.js'

describe('startDeadline', () => {
  it('aborts with a TimeoutError when the time runs out, and says so', async () => {
    const caller = new AbortController()
    const deadline = startDeadline(30, caller.signal)
    expect(deadline.signal.aborted).toBe(false)
    await sleep(80)
    expect(deadline.signal.aborted).toBe(true)
    expect((deadline.signal.reason as DOMException).name).toBe('TimeoutError')
    expect(deadline.expired).toBe(true)
    expect(caller.signal.aborted).toBe(false)
    deadline.clear()
  })

  it("passes the caller's cancellation on with the caller's reason, not as a timeout", () => {
    const caller = new AbortController()
    const deadline = startDeadline(60_000, caller.signal)
    const reason = new Error('user pressed stop')
    caller.abort(reason)
    expect(deadline.signal.aborted).toBe(true)
    expect(deadline.signal.reason).toBe(reason)
    expect(deadline.expired).toBe(false)
    deadline.clear()
  })

  it('starts aborted when the caller already cancelled', () => {
    const caller = new AbortController()
    caller.abort(new Error('gone'))
    const deadline = startDeadline(60_000, caller.signal)
    expect(deadline.signal.aborted).toBe(true)
    expect((deadline.signal.reason as Error).message).toBe('gone')
    deadline.clear()
  })

  it('once cleared, neither the timer nor a later cancellation reaches it', async () => {
    const caller = new AbortController()
    const deadline = startDeadline(30, caller.signal)
    deadline.clear()
    deadline.clear()
    await sleep(80)
    caller.abort(new Error('late'))
    expect(deadline.signal.aborted).toBe(false)
    expect(deadline.expired).toBe(false)
  })

  it('takes several signals (a caller and a shutdown): any one aborts it with its reason; clear lets go of all', () => {
    const caller = new AbortController()
    const shutdown = new AbortController()
    const deadline = startDeadline(60_000, [caller.signal, undefined, shutdown.signal])
    shutdown.abort(new Error('shutting down'))
    expect((deadline.signal.reason as Error).message).toBe('shutting down')
    const other = startDeadline(60_000, [caller.signal, shutdown.signal])
    expect((other.signal.reason as Error).message).toBe('shutting down')
    const later = startDeadline(60_000, [new AbortController().signal, caller.signal])
    later.clear()
    caller.abort(new Error('late'))
    expect(later.signal.aborted).toBe(false)
    deadline.clear()
    other.clear()
  })

  it('works without a caller signal', async () => {
    const deadline = startDeadline(20)
    await sleep(60)
    expect(deadline.expired).toBe(true)
    expect(deadline.signal.aborted).toBe(true)
  })
})
