import { startProxy } from '../../http/server.js'
import { parseCommand, settingsFromFlags } from '../options.js'

export async function run(args: string[]): Promise<number | void> {
  const { values } = parseCommand(args, {})
  const settings = settingsFromFlags(values)
  const proxy = await startProxy(settings, { log: (line) => process.stderr.write(`${line}\n`) })
  const { service } = proxy
  process.stderr.write(
    `imagegen proxy listening on ${proxy.url}\n` +
      `  wallet   ${service.wallet.address} (${service.wallet.source === 'created' ? `new, saved to ${service.wallet.path}` : service.wallet.source === 'env' ? 'from BLOCKRUN_WALLET_KEY' : service.wallet.path})\n` +
      `  upstream ${settings.upstream}\n  images   ${service.store.dir}\n`,
  )
  await new Promise<void>((resolve) => {
    const stop = () => resolve()
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })
  process.stderr.write('imagegen proxy stopping\n')
  await proxy.close()
}
