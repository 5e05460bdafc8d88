import { startProxy } from '../../http/server.js'
import { parseCommand, settingsFromFlags } from '../options.js'

export async function run(args: string[]): Promise<number | void> {
  const { values } = parseCommand(args, { 'grace-seconds': { type: 'string' } })
  const settings = settingsFromFlags(values)
  const graceMs = Number(values['grace-seconds'] ?? 30) * 1000
  const proxy = await startProxy(settings, { log: (line) => process.stderr.write(`${line}\n`) })
  const { service } = proxy
  process.stderr.write(
    `imagegen proxy listening on ${proxy.url}\n` +
      `  wallet   ${service.wallet.address} (${service.wallet.source === 'created' ? `new, saved to ${service.wallet.path}` : service.wallet.source === 'env' ? 'from BLOCKRUN_WALLET_KEY' : service.wallet.path})\n` +
      (service.wallet.solana ? `  solana   ${service.wallet.solana.address} (${service.wallet.solana.source === 'env' ? 'from BLOCKRUN_SOLANA_KEY' : 'from the mnemonic'})\n` : '') +
      `  pays on  ${settings.paymentChain === 'solana' ? 'Solana' : 'Base'}\n` +
      `  upstream ${settings.upstream}\n  images   ${service.store.dir}\n`,
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
