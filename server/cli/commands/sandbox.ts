import { parseArgs } from 'node:util'
import { parseUsd } from '../../money.js'
import { BASE_SEPOLIA, chainOfAddress, SOLANA_DEVNET } from '../../payment/networks.js'
import { startSandbox } from '../../sandbox/server.js'
import type { ResultForm } from '../../sandbox/app.js'

export async function run(args: string[]): Promise<number | void> {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: 'string', default: '9402' },
      fund: { type: 'string', multiple: true },
      latency: { type: 'string' },
      x402: { type: 'string', default: 'v2' },
      form: { type: 'string' },
      'job-ms': { type: 'string' },
      chain: { type: 'string', default: 'base' },
    },
  })
  if (values.chain !== 'base' && values.chain !== 'solana') throw new Error(`--chain expects base or solana, got ${values.chain}`)
  const network = values.chain === 'solana' ? SOLANA_DEVNET : BASE_SEPOLIA
  const fund: Record<string, bigint> = {}
  for (const item of values.fund ?? []) {
    const [address, usd] = item.split('=')
    // Either chain's address: a Base (0x) one is funded in test USDC on Base Sepolia, a Solana (base58) one on devnet.
    if (!address || !chainOfAddress(address)) throw new Error(`--fund expects ADDRESS=USD with a 0x (Base) or base58 (Solana) address, got ${item}`)
    fund[address] = parseUsd(usd ?? '10')
  }
  const sandbox = await startSandbox({
    port: Number(values.port),
    network,
    fund,
    version: values.x402 === 'v1' ? 1 : 2,
    ...(values.latency ? { latencyMs: Number(values.latency) } : {}),
    ...(values.form ? { forms: values.form as ResultForm } : {}),
    ...(values['job-ms'] ? { jobMs: Number(values['job-ms']) } : {}),
  })
  const pointAt =
    network.chain === 'solana'
      ? `BLOCKRUN_API_URL=${sandbox.url} BLOCKRUN_PAYMENT_CHAIN=solana SOLANA_DEVNET_RPC_URL=${sandbox.rpcUrl}`
      : `BLOCKRUN_API_URL=${sandbox.url} BASE_SEPOLIA_RPC_URL=${sandbox.rpcUrl}`
  process.stderr.write(`sandbox upstream (x402 ${values.x402}, ${network.label} test USDC) on ${sandbox.url}\n  point the proxy at it: ${pointAt}\n`)
  process.stdout.write(`${sandbox.url}\n`)
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve)
    process.once('SIGTERM', resolve)
  })
  await sandbox.close()
}
