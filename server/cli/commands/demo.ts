/**
 * The offline demo: a sandbox upstream with a funded test wallet, the real proxy in front of it,
 * and one image generated through the real x402 flow (402, signature, settlement). On a terminal
 * it keeps serving until Ctrl-C, so the printed URL opens; without one (CI) it ends by itself.
 */
import { lstat, mkdir, writeFile } from 'node:fs/promises'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import { resolveSettings } from '../../config.js'
import { startProxy } from '../../http/server.js'
import type { ImagesResponseBody } from '../../http/respond.js'
import { formatUsd, parseUsd } from '../../money.js'
import { SOLANA_DEVNET } from '../../payment/networks.js'
import { startSandbox } from '../../sandbox/server.js'
import { loadWallet } from '../../wallet/key.js'
import { mnemonicPath } from '../../wallet/mnemonic.js'
import { UsageError, type CommandSpec, type Parsed } from '../flags.js'
import { createSpinner } from '../progress.js'

export const spec = {
  usage: '[options]',
  description: [
    'Starts the sandbox upstream (`imagegen sandbox`), funds a throwaway wallet with $10 of test USDC, starts the real proxy in front of it and generates one image through the whole x402 flow. ' +
      'The picture is the sandbox\'s placeholder (no model runs offline). Nothing reaches the internet and nothing of value is spent.',
  ],
  positionals: { min: 0, max: 0 },
  flags: {
    chain: { type: 'string', value: 'CHAIN', choices: ['base', 'solana'], description: 'Pay in test USDC on Base Sepolia (base) or Solana devnet (solana).', default: 'base' },
    prompt: { type: 'string', value: 'TEXT', description: 'The prompt of the demo image.', default: 'a golden retriever surfing on a wave' },
    home: { type: 'string', value: 'DIR', description: "The demo's data directory (its throwaway wallet, images, ledger).", default: 'blockrun-imagegen-demo-<your uid> in the temp folder' },
    keep: { type: 'boolean', description: 'Keep serving until Ctrl-C even without a terminal.' },
    once: { type: 'boolean', description: 'End after the image even on a terminal.' },
  },
} as const satisfies CommandSpec

export async function run({ values }: Parsed<typeof spec>): Promise<number | void> {
  if (values.keep && values.once) throw new UsageError('--keep and --once contradict each other')
  const solana = values.chain === 'solana'
  const home = values.home ?? (await demoHome(solana))
  const spinner = createSpinner()
  spinner.update('starting the sandbox upstream and the proxy')
  // On Solana the demo wallet is a ClawRouter-style one: a BIP-39 mnemonic in the home.
  if (solana) await ensureMnemonic(home)
  const wallet = await loadWallet({ home })
  const payer = solana ? wallet.solana!.address : wallet.address
  const sandbox = await startSandbox({ fund: { [payer]: parseUsd('10') }, ...(solana ? { network: SOLANA_DEVNET } : {}) })
  const chainSettings = solana ? { paymentChain: 'solana', solanaDevnetRpcUrl: sandbox.rpcUrl } : { sepoliaRpcUrl: sandbox.rpcUrl }
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
    // A terminal (someone who can press Ctrl-C) keeps the URL alive; CI and pipes end here.
    const keep = values.keep || (!values.once && Boolean(process.stdin.isTTY))
    process.stdout.write(
      [
        'blockrun-imagegen offline demo: one image through the real x402 flow against the local sandbox',
        `  prompt    ${body.prompt}`,
        `  picture   a placeholder the sandbox draws (no model runs offline; on blockrun.ai ${body.model} makes the image)`,
        `  url       ${image.url}${keep ? '' : ' (served only while the demo runs: it has ended)'}`,
        `  file      ${image.path}`,
        `  cost      ${result.cost?.usd} USDC (${result.cost?.amount} base units) on ${result.cost?.network}`,
        `  tx        ${result.cost?.transaction}`,
        `  wallet    ${payer}: ${formatUsd(balance)} test USDC left of $10.00`,
        `  requests  ${sandbox.counters.imageRequests} image requests to the sandbox (402, then the paid retry), ${sandbox.counters.catalogRequests} read of its model catalog`,
        '',
      ].join('\n'),
    )
    // The last line: where to see it all, with what it cost (the gallery, GET / on the proxy).
    if (!keep) process.stdout.write(`  gallery   ${proxy.url}/ (served only while the demo runs; see it again with: imagegen gallery --home ${home})\n`)
    if (keep) {
      process.stdout.write(`Serving ${proxy.url} (the url above opens in a browser) until Ctrl-C.\n`)
      process.stdout.write(`  gallery   ${proxy.url}/ (every image of this demo, what it cost and where the money went)\n`)
      await new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve())
        process.once('SIGTERM', () => resolve())
      })
    }
    return 0
  } finally {
    await proxy.close()
    await sandbox.close()
  }
}

/**
 * The default demo home: one per user in the temp folder (a shared /tmp path would be another
 * user's on a shared machine). A folder of that name that is not ours, or not private, is refused
 * rather than used: its wallet and images could be another user's to read or plant.
 */
async function demoHome(solana: boolean): Promise<string> {
  const uid = process.getuid?.()
  const home = join(tmpdir(), `blockrun-imagegen-demo-${uid ?? userInfo().username}${solana ? '-solana' : ''}`)
  await mkdir(home, { recursive: true, mode: 0o700 })
  const info = await lstat(home)
  const notOurs = !info.isDirectory() || (uid !== undefined && info.uid !== uid) || (process.platform !== 'win32' && (info.mode & 0o077) !== 0)
  if (notOurs) throw new UsageError(`${home} exists but is not a private folder of yours; remove it or pass --home DIR`)
  return home
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
