/**
 * The sandbox's slow jobs, as BlockRun's gateway runs them (REFERENCE.md §1, from BlockRun's SDK
 * `pollImageJob` and its video poller, Franklin's `pollImageJob` and ClawRouter's proxy):
 *
 * - a paid POST for a slow model is verified, not settled, and answered
 *   `202 {"id", "poll_url": "/api/v1/images/<route>/{id}", "status": "queued"}`;
 * - every poll must carry a payment: "the server binds the payer to the job id and re-verifies on
 *   each call". An unpaid poll is answered 402 with the job's requirements (the SDK's video
 *   client fetches exactly that challenge to re-sign); a payment that no longer verifies (expired:
 *   a verifier refuses it 6 s before validBefore) is answered 402 too; a payment from another
 *   wallet is refused: the gateway "enforces wallet binding, not signature equality";
 * - pending is answered as 202 `queued` and, later in the job, as 200 `in_progress` (BlockRun's
 *   clients accept both; which one the gateway sends when is not public, so the sandbox uses both);
 * - the first completed poll settles the authorization it carries and answers 200 `completed`
 *   with `data`; the job stays claimable by its payer afterwards without settling again ("jobs
 *   stay claimable", SDK changelog);
 * - a job nobody collects is never settled.
 *
 * On Solana, a paid transaction lives as long as its blockhash (150 blocks, about a minute), and no
 * public source says how the gateway treats a job that outlives it. The sandbox assumes it treats
 * it as an expired EVM authorization: the poll re-verifies the payment, finds the blockhash stale
 * and answers 402 with the job's requirements, and the client re-signs with the same wallet, as
 * ClawRouter's paying fetch does on any 402 and BlockRun's SDK does on a stale blockhash.
 */
import { randomBytes } from 'node:crypto'
import { decodePaymentSignatureHeader } from '@x402/core/http'
import type { Context } from 'hono'
import type { Fault } from './faults.js'
import type { Paywall, Quote } from './paywall.js'
import { solanaPayerOf } from './solana.js'

export type JobSettlement = { headers: Record<string, string>; transaction: string }

export type SandboxJob<Image> = {
  id: string
  /** The route the job was posted to (its poll_url lives under it). */
  route: 'generations' | 'image2image'
  /** The wallet that paid for the job, lower case: every poll must pay from it. */
  payer: string
  quote: Quote
  created: number
  ready: number
  fault?: Fault | undefined
  images: Image[]
  pollFailed?: boolean
  settled?: JobSettlement
}

export type JobPollRecord = { job: string; time: number; paid: boolean; status: number }

export type JobRoutesParameters<Image> = {
  paywall: Paywall
  jobs: Map<string, SandboxJob<Image>>
  /** Every poll, in order: tests read the cadence and whether polls carried a payment. */
  polls: JobPollRecord[]
  /** The result entries of a completed job. */
  items: (c: Context, job: SandboxJob<Image>) => unknown[]
}

export function newJobId(): string {
  return `job_${randomBytes(8).toString('hex')}`
}

/** The poll handler for `GET /v1/images/<route>/:id`. */
export function pollJob<Image>({ paywall, jobs, polls, items }: JobRoutesParameters<Image>) {
  return async (c: Context): Promise<Response> => {
    const job = jobs.get(c.req.param('id') ?? '')
    const paid = Boolean(c.req.header('payment-signature') || c.req.header('x-payment'))
    const answer = (response: Response) => {
      polls.push({ job: job?.id ?? '', time: Date.now(), paid, status: response.status })
      return response
    }
    if (!job) return answer(c.json({ error: 'Job not found' }, 404))

    // A job already collected stays claimable by its payer; it does not settle again.
    if (job.settled) {
      if (payerOf(c.req.raw.headers) !== job.payer) return answer(await refuse(c, paywall, job, 'Payment verification failed', 'This job is bound to another wallet'))
      return answer(c.json(completed(job, items(c, job)), 200, job.settled.headers))
    }

    const outcome = await paywall.check(c.req.raw.headers, job.quote)
    if (outcome.kind === 'respond') return answer(c.json(outcome.body as object, 402, outcome.headers))
    if (outcome.payer.toLowerCase() !== job.payer) return answer(await refuse(c, paywall, job, 'Payment verification failed', 'This job is bound to another wallet'))

    if (job.fault === 'job-fails') return answer(c.json({ id: job.id, status: 'failed', error: 'Generation failed upstream' }))
    if (job.fault === 'job-poll-unavailable' && !job.pollFailed) {
      job.pollFailed = true
      return answer(c.json({ error: 'Service temporarily unavailable' }, 503))
    }
    const now = Date.now()
    if (now < job.ready || job.fault === 'job-never-completes') {
      // The first half of a job reads `queued` (202), the rest `in_progress` (200).
      const queued = now < job.created + (job.ready - job.created) / 2
      return answer(queued ? c.json({ id: job.id, status: 'queued' }, 202) : c.json({ id: job.id, status: 'in_progress' }, 200))
    }
    // The first completed poll settles the authorization it carries.
    const settlement = await outcome.settle()
    if (!settlement.ok) return answer(c.json(settlement.body as object, 402, settlement.headers))
    job.settled = { headers: settlement.headers, transaction: settlement.transaction }
    return answer(c.json(completed(job, items(c, job)), 200, settlement.headers))
  }
}

function completed(job: SandboxJob<unknown>, data: unknown[]) {
  return { id: job.id, status: 'completed', created: Math.floor(job.created / 1000), data }
}

/** A 402 carrying the job's requirements (so a client can sign again), with the gateway's error body. */
async function refuse(c: Context, paywall: Paywall, job: SandboxJob<unknown>, error: string, details: string): Promise<Response> {
  const unpaid = await paywall.check(new Headers(), job.quote)
  const headers = unpaid.kind === 'respond' ? unpaid.headers : {}
  return c.json({ error, details }, 402, headers)
}

/** The wallet a payment header names (EVM `exact`: the authorization's `from`; SVM `exact`: the transfer's authority), lower case. */
export function payerOf(headers: Headers): string | undefined {
  const v2 = headers.get('payment-signature')
  const v1 = headers.get('x-payment')
  try {
    const payload = v2 ? decodePaymentSignatureHeader(v2) : v1 ? (JSON.parse(Buffer.from(v1, 'base64').toString('utf8')) as { payload?: unknown }) : undefined
    const inner = payload?.payload as { authorization?: { from?: unknown }; transaction?: unknown } | undefined
    const from = typeof inner?.transaction === 'string' ? solanaPayerOf(inner.transaction) : inner?.authorization?.from
    return typeof from === 'string' ? from.toLowerCase() : undefined
  } catch {
    return undefined
  }
}
