/**
 * The sandbox upstream in its own process, so its CPU (rendering, signature checks) and memory
 * never mix with the proxy's or the clients' in the measurements. Options come as JSON in argv[2]
 * (amounts as decimal strings); state is read over IPC, including the TCP connections it accepted,
 * which is how the bench sees whether clients reuse connections.
 */
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { createSandbox, type SandboxOptions } from '../server/sandbox/app.js'
import { BASE, BASE_SEPOLIA } from '../server/payment/networks.js'

export type SandboxChildOptions = Omit<SandboxOptions, 'fund' | 'network'> & { fund: Record<string, string>; network?: 'base' | 'base-sepolia' }

/** A 202 job as the bench reads it: when it became ready, and every poll of it (epoch ms). */
export type SandboxChildJob = { id: string; ready: number; polls: number[]; paidPolls: number }

/** What the bench reads: cumulative counters since start. */
export type SandboxChildState = {
  requests: number
  imageRequests: number
  authorizations: number
  polls: number
  settled: number
  rejected: number
  connections: number
  transfers: number
}

const raw = JSON.parse(process.argv[2] ?? '{}') as SandboxChildOptions
const sandbox = createSandbox({
  ...raw,
  network: raw.network === 'base' ? BASE : BASE_SEPOLIA,
  fund: Object.fromEntries(Object.entries(raw.fund).map(([address, amount]) => [address, BigInt(amount)])),
})
let connections = 0
const server = serve({ fetch: sandbox.app.fetch, hostname: '127.0.0.1', port: 0 }, (info: AddressInfo) => {
  // The API base URL, under /api as the gateway's is.
  process.send?.({ type: 'ready', url: `http://127.0.0.1:${info.port}/api` })
})
server.on('connection', () => connections++)

process.on('message', (message: { id: number; cmd: 'state' | 'jobs' | 'stop' }) => {
  if (message.cmd === 'stop') {
    server.close()
    ;(server as { closeAllConnections?: () => void }).closeAllConnections?.()
    process.exit(0)
  }
  if (message.cmd === 'jobs') {
    const jobs: SandboxChildJob[] = [...sandbox.jobs.values()].map((job) => {
      const polls = sandbox.polls.filter((poll) => poll.job === job.id)
      return { id: job.id, ready: job.ready, polls: polls.map((poll) => poll.time), paidPolls: polls.filter((poll) => poll.paid).length }
    })
    process.send?.({ id: message.id, jobs })
    return
  }
  const { counters, facilitator, usdc } = sandbox
  const state: SandboxChildState = {
    requests: counters.requests,
    imageRequests: counters.imageRequests,
    authorizations: counters.authorizations,
    polls: counters.polls,
    settled: facilitator.stats.settled,
    rejected: facilitator.stats.rejected,
    connections,
    transfers: usdc.transfers.length,
  }
  process.send?.({ id: message.id, state })
})
process.on('disconnect', () => process.exit(0))
