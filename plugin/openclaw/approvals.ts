/**
 * Asking the user before a paid call above the confirmation threshold (`confirmAbove`), the
 * OpenClaw way: a `before_tool_call` hook (OpenClaw's docs/plugins/hooks/tool-policy.md) quotes the
 * call (free: nothing is signed) and, when its price needs consent, returns `requireApproval` with
 * the price. OpenClaw pauses the run and asks the user through its approval surfaces (`/approve`,
 * a chat's approval buttons); "allow once" reaches us through `onResolution` before the tool runs,
 * and the tool's call is then paid at no more than the approved price (server/core/consent.ts
 * quotes again and pays with `max_price` at the price). Where OpenClaw cannot ask (a run with no
 * approval surface), it blocks the call itself, and nothing is paid.
 *
 * An agent cannot approve: consent is recorded only by the host's resolution, keyed by the tool
 * call's id (the host's), and taken once, by that call.
 */
import { consentQuestion, type Confirm } from '../../server/core/consent.js'
import { formatUsd } from '../../server/money.js'
import type { BeforeToolCallContext, BeforeToolCallEvent, BeforeToolCallResult } from './host.js'
import type { CoreAccess } from './runtime.js'

/** The tools that pay. */
export const PAID_TOOLS = ['generate_image', 'edit_image'] as const

/** How long OpenClaw waits for the user's answer (an unanswered approval denies). */
const APPROVAL_TIMEOUT_MS = 10 * 60 * 1000

export class ToolApprovals {
  /** Approved prices (base units) by tool call id, until that call takes its own. */
  private readonly approved = new Map<string, bigint>()

  constructor(private readonly access: CoreAccess) {}

  /** The `before_tool_call` handler: undefined (no decision) unless a paid call needs the user's yes. */
  readonly beforeToolCall = async (event: BeforeToolCallEvent, ctx?: BeforeToolCallContext): Promise<BeforeToolCallResult | undefined> => {
    const id = event.toolCallId
    if (!id || !(PAID_TOOLS as readonly string[]).includes(event.toolName)) return undefined
    let threshold: bigint | undefined
    try {
      threshold = this.access.settings().policy.confirmAbove
    } catch {
      return undefined // a config error: the tool call reports it
    }
    if (threshold === undefined) return undefined
    const { idempotency_key: _key, ...priced } = event.params
    // A request the quote cannot price (bad input, the gateway down) is left to the call, which
    // says why, and is refused before signing above the threshold anyway.
    const quote = await this.access.run((core) => core.quote(priced, { signal: ctx?.abortSignal })).catch(() => undefined)
    if (quote?.amount === undefined || !quote.allowed || !quote.confirmation.needed) return undefined
    const amount = quote.amount
    return {
      requireApproval: {
        title: `Pay ${formatUsd(amount)} USDC for ${event.toolName === 'edit_image' ? 'an image edit' : quote.n === 1 ? 'an image' : `${quote.n} images`}?`,
        description: consentQuestion(quote),
        severity: 'warning',
        timeoutMs: APPROVAL_TIMEOUT_MS,
        // Every payment is its own question: no "allow always".
        allowedDecisions: ['allow-once', 'deny'],
        onResolution: (decision) => {
          if (decision === 'allow-once') this.approved.set(id, amount)
        },
      },
    }
  }

  /**
   * The tool call's consent, taken once: yes for a price no higher than the one the user approved
   * for this call (the price may have moved since; a higher one is declined and named).
   */
  take(toolCallId: string | undefined): Confirm | undefined {
    const approved = toolCallId === undefined ? undefined : this.approved.get(toolCallId)
    if (toolCallId !== undefined) this.approved.delete(toolCallId)
    if (approved === undefined) return undefined
    return async (quote) => quote.amount !== undefined && quote.amount <= approved
  }
}
