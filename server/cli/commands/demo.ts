/**
 * The offline demo: a sandbox upstream with a funded test wallet, the real proxy in front of it,
 * and one image generated through the real x402 flow (402, signature, settlement).
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { resolveSettings } from '../../config.js'
import { startProxy } from '../../http/server.js'
import { formatUsd, parseUsd } from '../../money.js'
import { startSandbox } from '../../sandbox/server.js'
import { loadWallet } from '../../wallet/key.js'
import { mnemonicPath } from '../../wallet/mnemonic.js'
import { SOLANA_DEVNET } from '../../payment/networks.js'
import { createSpinner } from '../progress.js'
import type { ImagesResponseBody } from '../../http/respond.js'

export async function run(args: string[]): Promise<number | void> {
  const { values } = parseArgs({ args, options: { keep: { type: 'boolean' }, prompt: { type: 'string' }, home: { type: 'string' }, chain: { type: 'string', default: 'base' } } })
  if (values.chain !== 'base' && values.chain !== 'solana') throw new Error(`--chain expects base or solana, got ${values.chain}`)
  const solana = values.chain === 'solana'
  const home = values.home ?? join(tmpdir(), solana ? 'blockrun-imagegen-demo-solana' : 'blockrun-imagegen-demo')
  const spinner = createSpinner()
  spinner.update('starting the sandbox upstream and the proxy')
  // On Solana the demo wallet is a ClawRouter-style one: a BIP-39 mnemonic in the home.
  if (solana) await ensureMnemonic(home)
  const wallet = await loadWallet({ home })
  const payer = solana ? wallet.solana!.address : wallet.address
  const sandbox = await startSandbox({ fund: { [payer]: parseUsd('10') }, ...(solana ? { network: SOLANA_DEVNET } : {}) })
  const chainSettings = solana ? { paymentChain: 'solana', solanaDevnetRpcUrl: sandbox.rpcUrl } : {}
  const proxy = await startProxy(resolveSettings({ home, upstream: sandbox.url, port: 0, ...chainSettings }))
  try {
    const body = { model: 'google/nano-banana', prompt: values.prompt ?? 'a golden retriever surfing on a wave', size: '1024x1024', n: 1 }
    spinner.update(`POST ${proxy.url}/v1/images/generations (${body.model}, ${body.size})`)
    const response = await fetch(`${proxy.url}/v1/images/generations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    const result = (await response.json()) as ImagesResponseBody & { error?: { message: string } }
    spinner.stop()
    if (!response.ok) {
      process.stderr.write(`demo failed: ${result.error?.message ?? response.status}\n`)
      return 1
    }
    const image = result.data[0]!
    const balance = solana ? sandbox.solana.balanceOf(payer) : sandbox.usdc.balanceOf(payer)
    process.stdout.write(
      [
        'blockrun-imagegen offline demo: one image through the real x402 flow against the local sandbox',
        `  prompt    ${body.prompt}`,
        `  url       ${image.url}`,
        `  file      ${image.path}`,
        `  cost      ${result.cost?.usd} USDC (${result.cost?.amount} base units) on ${result.cost?.network}`,
        `  tx        ${result.cost?.transaction}`,
        `  wallet    ${payer}: ${formatUsd(balance)} test USDC left of $10.00`,
        `  requests  ${sandbox.counters.imageRequests} image requests to the sandbox (402, then the paid retry), ${sandbox.counters.catalogRequests} read of its model catalog`,
        '',
      ].join('\n'),
    )
    if (values.keep) {
      process.stderr.write(`serving ${proxy.url} until Ctrl+C\n`)
      await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()))
    }
    return 0
  } finally {
    await proxy.close()
    await sandbox.close()
  }
}

/** A demo home's mnemonic, created once (a new 24-word phrase, as ClawRouter creates for a new install). */
async function ensureMnemonic(home: string): Promise<void> {
  const { generateMnemonic } = await import('@scure/bip39')
  const { wordlist } = await import('@scure/bip39/wordlists/english')
  await mkdir(home, { recursive: true, mode: 0o700 })
  await writeFile(mnemonicPath(home), `${generateMnemonic(wordlist, 256)}\n`, { mode: 0o600, flag: 'wx' }).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error
  })
}
