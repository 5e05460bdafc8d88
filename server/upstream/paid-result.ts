/**
 * Reads an answer that may carry images and a settlement: the inline answer to a paid request,
 * or a completed poll of a 202 job. One reader for both, so they agree on what the money did:
 *
 * - with settlement evidence in the headers, the settlement is recorded (a durable ledger write)
 *   while the body streams to the store, and stays recorded whatever the body does next;
 * - without it, nothing is recorded here: the body decides (a job ticket, a refusal, images), and
 *   the caller records the outcome from it.
 */
import type { PaymentReceipt, SentPayment } from '../payment/payer.js'
import { hasSettlementEvidence } from '../payment/x402.js'
import type { DecodedImage } from './images.js'
import { readResultBody, type ImageSink, type ResultBody } from './result-body.js'

export type PaidResult = {
  result: ResultBody<DecodedImage>
  /** The payment's receipt when it is recorded as settled (from this answer's headers, or before). */
  settled: PaymentReceipt | undefined
  /** Whether this answer carried settlement evidence. */
  evidence: boolean
}

export async function readPaidResult(response: Response, payment: SentPayment | undefined, sinks: (index: number) => ImageSink<DecodedImage>): Promise<PaidResult> {
  const evidence = Boolean(payment) && hasSettlementEvidence(response.headers)
  const recording = evidence && !payment!.recorded ? payment!.finish(response) : Promise.resolve(payment?.settled)
  const [settled, read] = await Promise.allSettled([recording, readResultBody(response, sinks)])
  if (settled.status === 'rejected') {
    if (read.status === 'fulfilled') await read.value.discard()
    throw settled.reason
  }
  if (read.status === 'rejected') throw read.reason
  return { result: read.value, settled: settled.value?.status === 'settled' ? settled.value : payment?.settled, evidence }
}
