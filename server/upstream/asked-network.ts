/**
 * Which network the upstream asks to be paid on, for the wallet report: BlockRun's gateway asks
 * for Base (or Solana at sol.blockrun.ai), another upstream (a sandbox, a self-hosted gateway) may
 * ask for a testnet, and the report should show the network payments will really go on, with its
 * balance, rather than assume one.
 *
 * It is learnt from one unpaid request to the generation route: an x402 resource answers 402 with
 * its payment requirements before doing any work, so asking costs nothing and nothing is signed
 * (x402 §"Payment Required Response"; it is the first half of every paid request, payer.ts).
 *
 * @see https://github.com/coinbase/x402/blob/main/specs/x402-specification.md
 */
import { readRequirements } from '../payment/payer.js'
import { findNetwork, type KnownNetwork, type PaymentChain } from '../payment/networks.js'
import { upstreamFetch } from './http-client.js'

export type AskedNetwork = { network: KnownNetwork } | { reason: string }

/**
 * The first network of `chain` the upstream's 402 accepts, for a request of `model` at its default
 * size; otherwise why it could not be learnt. Bounded by `timeoutMs`.
 */
export async function askedNetwork(upstream: string, chain: PaymentChain, model: string, timeoutMs = 2000): Promise<AskedNetwork> {
  const url = `${upstream}/v1/images/generations`
  const body = JSON.stringify({ model, prompt: 'a blue circle', size: '1024x1024', n: 1 })
  let response: Response
  try {
    response = await upstreamFetch(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body, signal: AbortSignal.timeout(timeoutMs) })
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code
    return { reason: `${url} could not be reached (${cause ?? (error instanceof Error ? error.name : 'error')})` }
  }
  if (response.status !== 402) {
    await response.body?.cancel().catch(() => {})
    return { reason: `${url} answered HTTP ${response.status} to an unpaid request, not 402` }
  }
  try {
    const required = await readRequirements(response)
    const networks = required.accepts.map((option) => findNetwork(String(option.network ?? ''))).filter((n): n is KnownNetwork => n !== undefined)
    const network = networks.find((n) => n.chain === chain)
    if (network) return { network }
    const asked = required.accepts.map((option) => String(option.network)).join(', ')
    return { reason: `the upstream asks for payment on ${asked || 'no network'}, none of them on ${chain === 'solana' ? 'Solana' : 'Base'}` }
  } catch (error) {
    return { reason: error instanceof Error ? error.message : String(error) }
  }
}
