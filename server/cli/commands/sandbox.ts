/**
 * `imagegen sandbox`: the BlockRun look-alike (server/sandbox/) on a local port, paid in test USDC,
 * until Ctrl-C. It says what it funded and how to point the proxy and `imagegen wallet` at it.
 */
import { formatUsd, parseUsd } from '../../money.js'
import { BASE_SEPOLIA, chainOfAddress, SOLANA_DEVNET } from '../../payment/networks.js'
import type { ResultForm } from '../../sandbox/app.js'
import { startSandbox } from '../../sandbox/server.js'
import { wholeNumber, UsageError, type CommandSpec, type Parsed } from '../flags.js'

const FORMS = ['url', 'data_uri', 'b64_json', 'job'] as const satisfies readonly ResultForm[]

/** `ADDRESS` or `ADDRESS=USD`. */
function fundCheck(item: string): string | undefined {
  const [address = '', usd = '10', extra] = item.split('=')
  if (extra !== undefined || !chainOfAddress(address)) return 'expected ADDRESS or ADDRESS=USD, with a 0x (Base) or base58 (Solana) address'
  try {
    parseUsd(usd)
    return undefined
  } catch {
    return `expected a dollar amount after =, such as 10 or 2.50, not "${usd}"`
  }
}

export const spec = {
  usage: '[options]',
  description: [
    'A local BlockRun look-alike: the gateway\'s routes under /api, a real x402 paywall in test USDC (Base Sepolia, or Solana devnet with --chain solana), its model catalog, placeholder pictures, and the chain\'s JSON-RPC at /rpc so balances read through the real code. Nothing in it has value. It prints its API URL on stdout.',
  ],
  positionals: { min: 0, max: 0 },
  flags: {
    port: { type: 'string', value: 'PORT', description: 'Port on 127.0.0.1 (0: any free one).', default: '9402', check: wholeNumber(0, 65535) },
    chain: { type: 'string', value: 'CHAIN', choices: ['base', 'solana'], description: 'What its paywall asks for: base = USDC on Base Sepolia, solana = USDC on Solana devnet.', default: 'base' },
    fund: { type: 'string', multiple: true, value: 'ADDRESS[=USD]', description: 'Give an address test USDC at start (a 0x address on Base Sepolia, a base58 one on Solana devnet).', default: '10 per address', check: fundCheck },
    latency: { type: 'string', value: 'MS', description: 'Delay before every answer, as the internet would add.', default: '0', check: wholeNumber(0, 600_000) },
    x402: { type: 'string', value: 'VERSION', choices: ['v1', 'v2'], description: 'The x402 version its paywall speaks.', default: 'v2' },
    form: { type: 'string', value: 'FORM', choices: FORMS, description: 'One result form for every model (a job is a paid 202 to poll).', default: "each model's own" },
    'job-ms': { type: 'string', value: 'MS', description: 'How long a 202 job stays in progress.', default: '300', check: wholeNumber(0, 3_600_000) },
  },
} as const satisfies CommandSpec

export async function run({ values }: Parsed<typeof spec>): Promise<number | void> {
  const network = values.chain === 'solana' ? SOLANA_DEVNET : BASE_SEPOLIA
  const fund: Record<string, bigint> = {}
  for (const item of values.fund ?? []) {
    const [address, usd] = item.split('=')
    fund[address!] = (fund[address!] ?? 0n) + parseUsd(usd ?? '10')
  }
  const port = Number(values.port ?? 9402)
  const sandbox = await startSandbox({
    port,
    network,
    fund,
    version: values.x402 === 'v1' ? 1 : 2,
    ...(values.latency ? { latencyMs: Number(values.latency) } : {}),
    ...(values.form ? { forms: values.form as ResultForm } : {}),
    ...(values['job-ms'] ? { jobMs: Number(values['job-ms']) } : {}),
  }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'EADDRINUSE') throw new UsageError(`port ${port} is in use; choose another with --port (0: any free port)`)
    throw error
  })
  const lines = [`sandbox upstream (x402 ${values.x402 ?? 'v2'}, ${network.label} test USDC, nothing of value) on ${sandbox.url}`]
  // Read back from the sandbox's own ledgers: what a wallet pointed here will see.
  for (const address of Object.keys(fund)) {
    const solana = chainOfAddress(address) === 'solana'
    const balance = solana ? sandbox.solana.balanceOf(address) : sandbox.usdc.balanceOf(address)
    lines.push(`  funded   ${address}: ${formatUsd(balance)} test USDC on ${solana ? SOLANA_DEVNET.label : BASE_SEPOLIA.label}`)
  }
  const rpcFlag = network.chain === 'solana' ? 'solana-devnet-rpc-url' : 'sepolia-rpc-url'
  const chainFlag = network.chain === 'solana' ? ' --chain solana' : ''
  const env =
    network.chain === 'solana'
      ? `BLOCKRUN_API_URL=${sandbox.url} BLOCKRUN_PAYMENT_CHAIN=solana SOLANA_DEVNET_RPC_URL=${sandbox.rpcUrl}`
      : `BLOCKRUN_API_URL=${sandbox.url} BASE_SEPOLIA_RPC_URL=${sandbox.rpcUrl}`
  lines.push(
    `  use it   imagegen serve --upstream ${sandbox.url}${chainFlag} --${rpcFlag} ${sandbox.rpcUrl}`,
    `           imagegen wallet --upstream ${sandbox.url}${chainFlag} --${rpcFlag} ${sandbox.rpcUrl}`,
    `           or set ${env}`,
    '  Ctrl-C stops it; its balances live in memory only.',
  )
  process.stderr.write(`${lines.join('\n')}\n`)
  process.stdout.write(`${sandbox.url}\n`)
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve)
    process.once('SIGTERM', resolve)
  })
  await sandbox.close()
}
