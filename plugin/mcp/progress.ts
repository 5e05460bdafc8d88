/**
 * Progress for long tool calls. MCP clients time requests out after about 60 s unless progress
 * arrives (and the client resets its timer on progress), while slow models take minutes. When the
 * request carried a `progressToken`, every message from the core is forwarded as
 * `notifications/progress`, and a heartbeat fills any gap so no two notifications are more than
 * `heartbeatMs` apart, even while the core is silent (opening the wallet, reading edit inputs).
 */
import type { Progress } from '../../server/service.js'

export type ProgressParams = { progressToken: string | number; progress: number; message: string }

export type ProgressReporter = {
  /** Hand to the core as `onProgress`. */
  update(progress: Progress): void
  stop(): void
}

export type ProgressReporterOptions = {
  token: string | number | undefined
  send: (params: ProgressParams) => Promise<void>
  /** Longest silence between two notifications (default 4 s, under the 5 s promised). */
  heartbeatMs?: number
  onSendError?: (error: unknown) => void
}

export function progressReporter({ token, send, heartbeatMs = 4000, onSendError }: ProgressReporterOptions): ProgressReporter {
  if (token === undefined) return { update() {}, stop() {} }
  const started = Date.now()
  let lastSent = started
  let lastProgress = 0
  let lastMessage = 'starting'
  let stopped = false

  const emit = (message: string) => {
    if (stopped) return
    lastSent = Date.now()
    // `progress` must grow with every notification: elapsed seconds, nudged up when two share a tick.
    lastProgress = Math.max(Math.round((lastSent - started) / 100) / 10, lastProgress + 0.1)
    send({ progressToken: token, progress: Number(lastProgress.toFixed(1)), message }).catch((error: unknown) => onSendError?.(error))
  }

  const tick = Math.min(1000, heartbeatMs / 2)
  const timer = setInterval(() => {
    if (Date.now() - lastSent >= heartbeatMs - tick) emit(`${lastMessage} (still working, ${Math.round((Date.now() - started) / 1000)} s)`)
  }, tick)
  timer.unref()

  return {
    update(progress) {
      lastMessage = progress.message
      emit(progress.message)
    },
    stop() {
      stopped = true
      clearInterval(timer)
    },
  }
}
