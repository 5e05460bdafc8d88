import { parseArgs } from 'node:util'
import { parseUsd } from '../../money.js'
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
    },
  })
  const fund: Record<string, bigint> = {}
  for (const item of values.fund ?? []) {
    const [address, usd] = item.split('=')
    if (!address || !/^0x[0-9a-fA-F]{40}$/.test(address)) throw new Error(`--fund expects 0xADDRESS=USD, got ${item}`)
    fund[address] = parseUsd(usd ?? '10')
  }
  const sandbox = await startSandbox({
    port: Number(values.port),
    fund,
    version: values.x402 === 'v1' ? 1 : 2,
    ...(values.latency ? { latencyMs: Number(values.latency) } : {}),
    ...(values.form ? { forms: values.form as ResultForm } : {}),
    ...(values['job-ms'] ? { jobMs: Number(values['job-ms']) } : {}),
  })
  process.stderr.write(`sandbox upstream (x402 ${values.x402}, Base Sepolia test USDC) on ${sandbox.url}\n  point the proxy at it: BLOCKRUN_API_URL=${sandbox.url}\n`)
  process.stdout.write(`${sandbox.url}\n`)
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve)
    process.once('SIGTERM', resolve)
  })
  await sandbox.close()
}
