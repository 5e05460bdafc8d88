/**
 * Remembers, per route, model, size and n, the payment requirements the upstream's last 402 gave,
 * so the next identical request can carry its payment on the first attempt: one round trip per
 * paid image instead of two.
 *
 * Only requirements the policy allowed are stored, and each entry expires. A cached entry is never
 * trusted blindly: the policy runs again on every use, and a 402 in answer to a pre-paid request
 * (price changed, payee rotated) drops the entry and falls back to one ordinary 402 round.
 */
import type { PaymentRequired } from '@x402/core/types'

export type RequirementsKey = { endpoint: string; model: string; size: string; n: number }

export class RequirementsCache {
  private readonly entries = new Map<string, { required: PaymentRequired; expires: number }>()

  constructor(
    private readonly ttlMs = 10 * 60 * 1000,
    private readonly maxEntries = 256,
  ) {}

  get(key: RequirementsKey, now = Date.now()): PaymentRequired | undefined {
    const id = keyOf(key)
    const entry = this.entries.get(id)
    if (!entry) return undefined
    if (entry.expires <= now) {
      this.entries.delete(id)
      return undefined
    }
    return entry.required
  }

  set(key: RequirementsKey, required: PaymentRequired, now = Date.now()): void {
    const id = keyOf(key)
    this.entries.delete(id)
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!)
    this.entries.set(id, { required, expires: now + this.ttlMs })
  }

  delete(key: RequirementsKey): void {
    this.entries.delete(keyOf(key))
  }
}

function keyOf({ endpoint, model, size, n }: RequirementsKey): string {
  return `${endpoint}\u0000${model}\u0000${size}\u0000${n}`
}
