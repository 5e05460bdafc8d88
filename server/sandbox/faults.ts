/**
 * Fault injection for the sandbox: the ways a real upstream misbehaves, each at the stage of the
 * exchange where it happens. A fault is chosen per request, either by a marker in the prompt
 * (`[fault:<name>]`, so a test can aim one request through the unmodified proxy) or from a seeded
 * random mix set in the sandbox options (for the randomized chaos run).
 */
export const FAULTS = [
  /** 500/503 to the unpaid request. */
  'error-before-pay',
  /** Settles, then answers 500 (with the settlement header). */
  'error-after-settle',
  /** Settles, then drops the connection without answering. */
  'reset-after-pay',
  /** Drops the connection once the paid request arrived, without settling. */
  'reset-before-settle',
  /** Takes `slowMs` before answering the paid request (then settles and answers). */
  'slow',
  /** Answers the paid request with 402 again (nothing settled). */
  'payment-required-again',
  /** A 402 whose PAYMENT-REQUIRED header does not decode. */
  'malformed-402',
  /** Answers 200 with images but a settlement header saying failure (nothing settled). */
  'settlement-failed-header',
  /** A 202 job that stays in progress forever. */
  'job-never-completes',
  /** A 202 job that fails (nothing settled). */
  'job-fails',
  /** The first poll of a 202 job answers 503; the job itself goes on and completes. */
  'job-poll-unavailable',
  /** Hosted image URL that ends part-way through the file. */
  'truncated-download',
  /** Hosted image URL that serves something that is not an image. */
  'non-image-download',
  /** Settles, then closes the connection in the middle of the JSON body. */
  'close-mid-body',
  /**
   * A 200 with `error` and an empty `data` instead of images (content moderation, a quota), not
   * settled: REFERENCE.md §1; Franklin surfaces such answers since 2026-05.
   */
  'moderated',
  /**
   * The job ticket comes as a 200 whose status is `queued` rather than a 202: BlockRun's SDK treats
   * such a 200 as a job too, so the sandbox can answer that way.
   */
  'job-accepted-as-200',
] as const

export type Fault = (typeof FAULTS)[number]

export type FaultMix = { weights: Partial<Record<Fault | 'none', number>>; seed?: number }

const MARKER = /\[fault:([a-z0-9-]+)\]/

/** Picks the fault for one request, or undefined for normal behaviour. */
export type FaultPicker = (prompt: string) => Fault | undefined

export function faultPicker(mix: FaultMix | undefined): FaultPicker {
  const random = mulberry32(mix?.seed ?? 1)
  const entries = Object.entries(mix?.weights ?? {}).filter(([, w]) => (w ?? 0) > 0) as Array<[Fault | 'none', number]>
  const total = entries.reduce((sum, [, w]) => sum + w, 0)
  return (prompt) => {
    const marked = MARKER.exec(prompt)?.[1]
    if (marked) return (FAULTS as readonly string[]).includes(marked) ? (marked as Fault) : undefined
    if (total === 0) return undefined
    let roll = random() * total
    for (const [fault, weight] of entries) {
      roll -= weight
      if (roll < 0) return fault === 'none' ? undefined : fault
    }
    return undefined
  }
}

/** A small seeded PRNG: the chaos run is reproducible from its seed. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
