/**
 * The budget window's running totals against the plain definition: for any history of
 * reservations, status changes and passing time (including clocks set back, and writers whose
 * clocks disagree by seconds or by weeks), what it says the records before a reservation count
 * equals the sum `countsAgainstBudget` gives record by record.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { BudgetWindow, countsAgainstBudget, DAY_MS } from '../server/payment/budget-window.js'
import type { PaymentRecord, PaymentStatus } from '../server/payment/ledger.js'

const STATUSES: PaymentStatus[] = ['reserved', 'signed', 'settled', 'refused', 'failed', 'abandoned', 'unknown', 'released', 'declined']

type Step =
  | { op: 'reserve'; amount: number; skew: number }
  | { op: 'reserveSkewed'; amount: number; skew: number }
  | { op: 'status'; pick: number; status: PaymentStatus; validFor: number }
  | { op: 'chain'; pick: number; used: boolean }
  | { op: 'wait'; ms: number }
  | { op: 'check'; pick: number }

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ op: fc.constant('reserve' as const), amount: fc.integer({ min: 1, max: 1_000_000 }), skew: fc.integer({ min: -5_000, max: 0 }) }),
  fc.record({ op: fc.constant('status' as const), pick: fc.nat(), status: fc.constantFrom(...STATUSES), validFor: fc.integer({ min: -600, max: 600 }) }),
  fc.record({ op: fc.constant('reserveSkewed' as const), amount: fc.integer({ min: 1, max: 1_000_000 }), skew: fc.integer({ min: -3 * DAY_MS, max: 30 * DAY_MS }) }),
  fc.record({ op: fc.constant('wait' as const), ms: fc.oneof(fc.integer({ min: 0, max: 60_000 }), fc.integer({ min: DAY_MS / 4, max: DAY_MS / 2 }), fc.integer({ min: -2 * DAY_MS, max: 0 })) }),
  fc.record({ op: fc.constant('check' as const), pick: fc.nat() }),
  fc.record({ op: fc.constant('chain' as const), pick: fc.nat(), used: fc.boolean() }),
)

function replay(steps: Step[], withSkew: boolean): Array<{ window: bigint; plain: bigint }> {
  const records: PaymentRecord[] = []
  const window = new BudgetWindow(() => records)
  const results: Array<{ window: bigint; plain: bigint }> = []
  let now = 1_800_000_000_000
  for (const s of steps) {
    if (s.op === 'reserve' || (s.op === 'reserveSkewed' && withSkew)) {
      const record = { id: `p${records.length}`, amount: BigInt(s.amount), time: now + (withSkew ? s.skew : 0), status: 'reserved' } as PaymentRecord
      records.push(record)
      window.add(record)
    } else if (s.op === 'status' && records.length) {
      const record = records[s.pick % records.length]!
      window.update(record, () => {
        record.status = s.status
        record.validBefore = Math.floor(now / 1000) + s.validFor
      })
    } else if (s.op === 'chain' && records.length) {
      const record = records[s.pick % records.length]!
      window.update(record, () => {
        record.chain = s.used ? 'used' : 'unused'
      })
    } else if (s.op === 'wait') {
      now += s.ms
    } else if (s.op === 'check' && records.length) {
      const index = s.pick % records.length
      const plain = records.slice(0, index).reduce((sum, r) => (countsAgainstBudget(r, now) ? sum + r.amount : sum), 0n)
      const fromWindow = window.usedBefore(records[index]!.id, now)
      // A record outside the window is not found (nothing is judged against it then).
      if (records[index]!.time > now - DAY_MS) results.push({ window: fromWindow ?? -1n, plain })
      else expect(fromWindow).toBeUndefined()
    }
  }
  return results
}

describe('the budget window', () => {
  it('equals the record-by-record sum for any history (one clock, which may be set back)', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 300 }), (steps) => {
        for (const { window, plain } of replay(steps, false)) expect(window).toBe(plain)
      }),
      { numRuns: 1000 },
    )
  })

  it('equals it too when writers’ clocks disagree, by seconds or by weeks', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 300 }), (steps) => {
        for (const { window, plain } of replay(steps, true)) expect(window).toBe(plain)
      }),
      { numRuns: 1000 },
    )
  })

  it('does not find a reservation that is not in it', () => {
    const window = new BudgetWindow(() => [])
    expect(window.usedBefore('nobody', Date.now())).toBeUndefined()
  })
})
