#!/usr/bin/env node
/**
 * `imagegen`: serve | generate | edit | wallet | usage | receipts | token | mcp | sandbox | demo
 * Each command is a module under ./commands; this file only dispatches.
 */
import module from 'node:module'
import { VERSION } from '../version.js'

// Node 22.1+ keeps compiled code on disk between runs: an MCP server spawned per agent session
// starts about twice as fast from the second time. Node 20 has no such cache (a no-op there).
;(module as { enableCompileCache?: () => unknown }).enableCompileCache?.()

const COMMANDS: Record<string, () => Promise<{ run(args: string[]): Promise<number | void> }>> = {
  serve: () => import('./commands/serve.js'),
  generate: () => import('./commands/generate.js'),
  edit: () => import('./commands/edit.js'),
  wallet: () => import('./commands/wallet.js'),
  usage: () => import('./commands/usage.js'),
  receipts: () => import('./commands/receipts.js'),
  token: () => import('./commands/token.js'),
  mcp: () => import('./commands/mcp.js'),
  sandbox: () => import('./commands/sandbox.js'),
  demo: () => import('./commands/demo.js'),
}

const HELP = `imagegen ${VERSION}: image generation and editing paid with x402 from your BlockRun wallet

Usage:
  imagegen serve    [--port 8402] [--host 127.0.0.1] [--upstream URL]   run the local proxy
  imagegen generate "<prompt>" [--model M] [--size WxH | --aspect-ratio 16:9] [--quality hd] [--n N] [--out PATH]
                    [--quote] [--max-price USD]                         --quote: the price only, nothing signed
  imagegen edit     <image> "<prompt>" [--image MORE]... [--mask PATH|URL] [--model M] [--size WxH] [--out PATH]
                    [--quote] [--max-price USD]
  imagegen wallet                                                       address, balance, how to fund
  imagegen usage    [--days N]                                          spend per day and model
  imagegen receipts [ID] [--csv | --json] [--limit N]                   what was made and paid, with receipts
  imagegen token    [--browser [--next /images/FILE]]                   the proxy token, or a one-time browser link
  imagegen mcp                                                          stdio MCP server
  imagegen sandbox  [--port 9402] [--chain base|solana] [--fund ADDRESS=10] [--latency MS] [--x402 v1|v2]
  imagegen demo     [--chain base|solana]                               offline end-to-end demo

Spend limits (flags or env): --max-per-request 0.50 (BLOCKRUN_MAX_PER_REQUEST),
  --daily-budget 5.00 (BLOCKRUN_DAILY_BUDGET), --networks (BLOCKRUN_ALLOWED_NETWORKS),
  --payees (BLOCKRUN_ALLOWED_PAYEES), --max-timeout-seconds 900 (BLOCKRUN_MAX_TIMEOUT_SECONDS),
  --confirm-above USD (BLOCKRUN_CONFIRM_ABOVE; ask before paying more, unset by default).
Who may call the proxy: --auth auto|token (BLOCKRUN_AUTH; auto = your user only on Linux),
  --allowed-origins http://localhost:3000,... (BLOCKRUN_ALLOWED_ORIGINS; web pages besides its own).
Other: --upstream (BLOCKRUN_API_URL), --home (BLOCKRUN_HOME, default ~/.openclaw/blockrun),
  --timeout-seconds 300 (BLOCKRUN_TIMEOUT_SECONDS), --rpc-url (BASE_RPC_URL).
Chain: --chain base|solana (BLOCKRUN_PAYMENT_CHAIN; default ClawRouter's $BLOCKRUN_HOME/payment-chain,
  else base), --solana-rpc-url (SOLANA_RPC_URL).
The wallet key comes from BLOCKRUN_WALLET_KEY, $BLOCKRUN_HOME/wallet.key or $BLOCKRUN_HOME/mnemonic,
  the Solana key from BLOCKRUN_SOLANA_KEY or the mnemonic; never from a flag.
`

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(HELP)
    return name ? 0 : 1
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(`${VERSION}\n`)
    return 0
  }
  const load = COMMANDS[name]
  if (!load) {
    process.stderr.write(`imagegen: unknown command "${name}"\n\n${HELP}`)
    return 2
  }
  const command = await load()
  return (await command.run(args)) ?? 0
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exitCode = code
  },
  (error: unknown) => {
    process.stderr.write(`imagegen: ${error instanceof Error ? error.message : String(error)}\n`)
    process.exitCode = 1
  },
)
