/**
 * Never pay twice for one picture: idempotency keys, kept in `$BLOCKRUN_HOME/requests.jsonl`
 * beside the ledger and shared by every process over the home.
 *
 * A request that carries a key claims it: a `claim` line is appended, then judged against the
 * claims before it in the file (the ledger's way: no lock, the file's order decides). The last
 * earlier claim of the key, if any, decides:
 * - it finished (`done`): its result is handed back, nothing is paid. A caller's key
 *   (`Idempotency-Key`, `idempotency_key`) is honoured for 24 h. A key our own tools derive from
 *   a call's arguments (reuse `undelivered`) hands back only a result that was paid for but never
 *   delivered (its caller left, e.g. an MCP client that timed out at 60 s), within 30 minutes: a
 *   delivered result is never reused, so asking twice makes two pictures;
 * - it failed after money may have moved (a payment settled or of unknown outcome): the failure
 *   is answered again and nothing is paid; a failure that cost nothing frees the key;
 * - it is still running: in this process the request waits for it; in another process a caller's
 *   key is refused with 409 (a derived key runs: two sessions asking alike is no retry). A claim whose process is gone frees the key when the ledger shows nothing
 *   signed for it, and is answered as a failure that may have cost money otherwise;
 * - a key never hands back another request's result: a caller's key with a different request is
 *   refused with 422, a derived one runs (it met a caller's key spelled alike).
 *
 * The claim's owner runs the request detached from its caller (the service keeps the deadline),
 * so the result is stored for a retry even when the caller went away.
 */
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { ImagegenError, type ImagegenErrorType } from '../errors.js'
import { Journal } from '../store/journal.js'

export const REQUESTS_FILE = 'requests.jsonl'
/** How long a caller's key is honoured. */
export const KEY_TTL_MS = 24 * 60 * 60 * 1000
/** How long a result our tools' derived key hands back is kept for a retry. */
export const UNDELIVERED_TTL_MS = 30 * 60 * 1000

/** `always`: a caller's key; `undelivered`: a key our tools derive from a call's arguments. */
export type KeyReuse = 'always' | 'undelivered'
export type IdempotencyKey = { key: string; reuse: KeyReuse }

type StoredError = { status: number; type: string; code: string | null; message: string }

type KeyLine =
  | { kind: 'claim'; t: number; key: string; id: string; fingerprint: string; reuse: KeyReuse; owner: string }
  | { kind: 'done'; t: number; key: string; id: string; delivered: boolean }
  | { kind: 'failed'; t: number; key: string; id: string; charged: boolean; error: StoredError }
  | { kind: 'delivered' | 'withdrawn'; t: number; key: string; id: string }

type ClaimState = { line: Extract<KeyLine, { kind: 'claim' }>; outcome?: 'done' | 'failed'; at?: number; delivered: boolean; charged?: boolean; error?: StoredError; withdrawn: boolean }

/** What a request holding a key does. */
export type Claim =
  | { kind: 'owner'; id: string }
  | { kind: 'replay'; id: string }
  | { kind: 'refused'; error: ImagegenError }

export type IdempotencyStoreParameters = {
  home: string
  /** Whether money may have moved for a request id (a payment signed, settled or of unknown outcome). */
  moneyMoved: (requestId: string) => Promise<boolean>
  /** Whether a request id's result is in the receipt index (stored before its answer left). */
  stored: (requestId: string) => boolean
  /** How long a claim may run before it is taken for dead even though its process lives (the upstream deadline and more). */
  runningLimitMs: number
}

/** Owners alive in this process (several services may share one process and one home). */
const LIVE_OWNERS = new Set<string>()

export class IdempotencyStore {
  private readonly journal: Journal<KeyLine>
  private readonly claims = new Map<string, ClaimState[]>()
  private readonly byId = new Map<string, ClaimState>()
  /** Requests of this store running now, by key: a duplicate waits for them. */
  private readonly running = new Map<string, Promise<void>>()
  private readonly releases = new Map<string, () => void>()
  private readonly owner = `${process.pid}:${randomBytes(4).toString('hex')}`

  constructor(private readonly parameters: IdempotencyStoreParameters) {
    this.journal = new Journal(join(parameters.home, REQUESTS_FILE))
    LIVE_OWNERS.add(this.owner)
  }

  /**
   * Claims `key` for a new request `id` with this `fingerprint` (see the module comment). An
   * owner must call `release(key)` once its request has ended (after `done` or `failed`).
   */
  async claim({ key, reuse }: IdempotencyKey, fingerprint: string, id: string): Promise<Claim> {
    for (;;) {
      // A duplicate in this process waits for the first, then judges again (it is done by then).
      const first = this.running.get(key)
      if (first) {
        await first
        continue
      }
      // From the append to the decision nothing awaits: no other request of this process slips in.
      const appended = this.journal.append({ kind: 'claim', t: Date.now(), key, id, fingerprint, reuse, owner: this.owner })
      this.catchUp()
      const mine = this.byId.get(id)
      const states = this.claims.get(key) ?? []
      const earlier = states.slice(0, mine ? states.indexOf(mine) : states.length).filter((state) => !state.withdrawn).at(-1)
      const verdict = earlier ? this.judge(earlier, { reuse, fingerprint }) : 'owner'
      if (verdict === 'owner') {
        let release!: () => void
        this.running.set(key, new Promise<void>((resolve) => (release = resolve)))
        this.releases.set(key, release)
        await appended
        return { kind: 'owner', id }
      }
      await appended
      await this.withdraw(key, id)
      if (verdict === 'dead') {
        // Its process ended after storing the result but before marking the key: that result is
        // the one this key paid for, so it is handed back (and marked now).
        if (this.parameters.stored(earlier!.line.id)) {
          await this.journal.append({ kind: 'done', t: Date.now(), key, id: earlier!.line.id, delivered: false }, { sync: true })
          this.catchUp()
          return { kind: 'replay', id: earlier!.line.id }
        }
        // Its process is gone without an outcome: free the key only if nothing may have been paid.
        if (!(await this.parameters.moneyMoved(earlier!.line.id))) {
          await this.journal.append({ kind: 'failed', t: Date.now(), key, id: earlier!.line.id, charged: false, error: lostError() })
          continue
        }
        const error = lostError(true)
        await this.journal.append({ kind: 'failed', t: Date.now(), key, id: earlier!.line.id, charged: true, error })
        return { kind: 'refused', error: replayed(error) }
      }
      if (verdict === 'replay') return { kind: 'replay', id: earlier!.line.id }
      return { kind: 'refused', error: verdict }
    }
  }

  /** The owner's request has ended: duplicates waiting in this process judge again. */
  release(key: string): void {
    const release = this.releases.get(key)
    this.releases.delete(key)
    this.running.delete(key)
    release?.()
  }

  /** The owner's result is stored as receipt `id`; `delivered` when its caller was still there to get it. */
  done(key: string, id: string, delivered: boolean): Promise<void> {
    return this.journal.append({ kind: 'done', t: Date.now(), key, id, delivered }, { sync: true })
  }

  /** The owner failed; `charged` when money may have moved (the failure is then answered again, never paid again). */
  failed(key: string, id: string, error: ImagegenError, charged: boolean): Promise<void> {
    const stored: StoredError = { status: error.status, type: error.type, code: error.code, message: error.message }
    return this.journal.append({ kind: 'failed', t: Date.now(), key, id, charged, error: stored }, { sync: true })
  }

  /** A replayed result reached its caller: a derived key will not hand it out again. */
  delivered(key: string, id: string): Promise<void> {
    return this.journal.append({ kind: 'delivered', t: Date.now(), key, id })
  }

  async close(): Promise<void> {
    LIVE_OWNERS.delete(this.owner)
    await this.journal.close()
  }

  /** What a new claim makes of the last earlier claim of its key. */
  private judge(earlier: ClaimState, { reuse, fingerprint }: { reuse: KeyReuse; fingerprint: string }): 'owner' | 'replay' | 'dead' | ImagegenError {
    const now = Date.now()
    const { line } = earlier
    // A derived key speaks for a retry within 30 minutes, a caller's key for 24 hours.
    if (now - (earlier.at ?? line.t) > (reuse === 'undelivered' ? UNDELIVERED_TTL_MS : KEY_TTL_MS)) return 'owner'
    // A key hands back only the result of the same request, whichever kind of key claimed it.
    if (line.fingerprint !== fingerprint) {
      // A derived key that meets another request (a caller's key spelled alike) is no retry: it runs.
      if (reuse === 'undelivered') return 'owner'
      return new ImagegenError({
        status: 422,
        type: 'invalid_request_error',
        code: 'idempotency_key_reused',
        param: 'idempotency_key',
        message: `This idempotency key was used in the last 24 hours for a different request (receipt ${line.id}). Use a new key for a new request; nothing was paid.`,
      })
    }
    if (earlier.outcome === 'done') {
      if (reuse === 'always' && line.reuse === 'always') return 'replay'
      // A derived key, on either side: only a result nobody received.
      return earlier.delivered ? 'owner' : 'replay'
    }
    if (earlier.outcome === 'failed') return earlier.charged ? replayed(earlier.error!) : 'owner'
    if (this.alive(line.owner) && now - line.t <= this.parameters.runningLimitMs) {
      // Two sessions (two processes) asking the same thing at once is no retry: each makes its own.
      if (reuse === 'undelivered') return 'owner'
      return new ImagegenError({
        status: 409,
        type: 'invalid_request_error',
        code: 'idempotency_key_in_use',
        param: 'idempotency_key',
        message: `A request with this idempotency key is still running in another process (receipt ${line.id}). Nothing was paid for this one; retry once that one is done to get its result.`,
      })
    }
    return 'dead'
  }

  private alive(owner: string): boolean {
    if (LIVE_OWNERS.has(owner)) return true
    const pid = Number(owner.split(':')[0])
    if (pid === process.pid) return false
    try {
      process.kill(pid, 0)
      return true
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'EPERM'
    }
  }

  private withdraw(key: string, id: string): Promise<void> {
    return this.journal.append({ kind: 'withdrawn', t: Date.now(), key, id })
  }

  private catchUp(): void {
    for (const line of this.journal.read()) {
      if (typeof line.key !== 'string' || typeof line.id !== 'string') continue
      if (line.kind === 'claim') {
        const state: ClaimState = { line, delivered: false, withdrawn: false }
        const list = this.claims.get(line.key) ?? []
        list.push(state)
        this.claims.set(line.key, list)
        this.byId.set(line.id, state)
        continue
      }
      const state = this.byId.get(line.id)
      if (!state) continue
      if (line.kind === 'withdrawn') state.withdrawn = true
      else if (line.kind === 'delivered') state.delivered = true
      else if (line.kind === 'done') Object.assign(state, { outcome: 'done', at: line.t, delivered: state.delivered || line.delivered })
      else if (line.kind === 'failed' && !state.outcome) Object.assign(state, { outcome: 'failed', at: line.t, charged: line.charged, error: line.error })
    }
  }
}

/** A stored failure, answered again for a retry of its key. */
function replayed(error: StoredError): ImagegenError {
  return new ImagegenError({
    status: error.status,
    type: error.type as ImagegenErrorType,
    code: error.code,
    message: `${error.message} (This is the answer to an earlier request with the same idempotency key; it was not tried again, so nothing more was paid.)`,
  })
}

function lostError(charged = false): StoredError {
  return {
    status: 502,
    type: 'upstream_error',
    code: 'request_lost',
    message: charged
      ? 'The process that ran the earlier request with this idempotency key ended before storing its result, after a payment was signed that may have settled. It is not paid again; see `imagegen receipts` and `imagegen usage`.'
      : 'The process that ran the earlier request with this idempotency key ended before it paid anything.',
  }
}
