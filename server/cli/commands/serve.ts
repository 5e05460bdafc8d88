/**
 * `imagegen serve`: the proxy, until SIGINT or SIGTERM.
 */
import { startProxy, type RunningProxy } from '../../http/server.js'
import { wholeNumber, type CommandSpec, type Parsed } from '../flags.js'
import { settingsFromFlags } from '../settings-flags.js'

export const spec = {
  usage: '[options]',
  description: [
    'Runs the local proxy: OpenAI-compatible POST /v1/images/generations, /v1/images/edits (multipart) and /v1/images/image2image, GET /v1/models, /v1/wallet, /v1/usage, every stored image at /images/<file>, and the gallery at / (imagegen gallery). ' +
      'Settings are checked at start; the proxy does not start with one it cannot use.',
  ],
  positionals: { min: 0, max: 0 },
  flags: {
    'grace-seconds': { type: 'string', value: 'SECONDS', description: 'On SIGINT or SIGTERM, how long requests in flight may finish (a second signal stops at once).', default: '30', check: wholeNumber(0, 3600) },
  },
  settings: 'all',
} as const satisfies CommandSpec

export async function run({ values }: Parsed<typeof spec>): Promise<number | void> {
  const settings = settingsFromFlags(values)
  const graceMs = Number(values['grace-seconds'] ?? 30) * 1000
  const proxy = await startProxy(settings, { log: (line) => process.stderr.write(`${line}\n`) })
  const { service } = proxy
  process.stderr.write(
    `imagegen proxy listening on ${proxy.url}\n` +
      `  wallet   ${service.wallet.address} (${service.wallet.source === 'created' ? `new, saved to ${service.wallet.path}` : service.wallet.source === 'env' ? 'from BLOCKRUN_WALLET_KEY' : service.wallet.path})\n` +
      (service.wallet.solana ? `  solana   ${service.wallet.solana.address} (${service.wallet.solana.source === 'env' ? 'from BLOCKRUN_SOLANA_KEY' : 'from the mnemonic'})
` : '') +
      `  pays on  ${settings.paymentChain === 'solana' ? 'Solana' : 'Base'}
` +
      `  upstream ${settings.upstream}
  images   ${service.store.dir}
` +
      `  callers  ${describeCallers(proxy)}
` +
      (settings.allowedOrigins.length ? `  origins  ${settings.allowedOrigins.join(', ')} (besides the proxy's own)
` : ''),
  )
  if (proxy.auth.exposed)
    process.stderr.write(
      `WARNING: bound to ${settings.host}, beyond loopback: other machines can reach this port. Every caller that is not ` +
        `your own process on this machine must send the token (Authorization: Bearer; \`imagegen token\` prints it). ` +
        'Traffic is plain HTTP: anyone on the network path can read prompts, images and the token. Prefer an SSH tunnel.\n',
    )
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'))
    process.once('SIGTERM', () => resolve('SIGTERM'))
  })
  // A second signal means "now": skip the grace period.
  process.once('SIGINT', () => process.exit(130))
  process.once('SIGTERM', () => process.exit(143))
  process.stderr.write(`imagegen proxy stopping (${signal}): finishing requests in flight, up to ${graceMs / 1000} s\n`)
  await proxy.close({ graceMs })
  process.stderr.write('imagegen proxy stopped\n')
}

/** Who may call, in a line; never the token itself (this output often ends up in logs). */
function describeCallers({ auth }: RunningProxy): string {
  const tokenHint = `token in ${auth.tokenFile} (\`imagegen token\`; \`imagegen token --browser\` for a browser)`
  const note = auth.note ? ` (${auth.note})` : ''
  if (auth.mode === 'owner') return `your user only, by the kernel's socket table; others need the ${tokenHint}`
  if (auth.mode === 'token') return `every caller sends the ${tokenHint}${note}`
  return `any process that reaches the loopback port (set BLOCKRUN_AUTH=token to require the ${tokenHint})`
}
