/**
 * `imagegen gallery`: the gallery's address (every image made, what it cost, where the money
 * went), opened in the browser when one is at hand. The proxy serves it: a proxy of ours already
 * on the port is used (after it proved itself); with none there, this command runs one until
 * Ctrl-C, as `imagegen serve` would. Where the proxy admits browsers only with a session (token
 * mode), it prints and opens a one-time sign-in link that leads to the gallery.
 */
import type { RunningProxy } from '../../http/server.js'
import { foreignName, loadProxyCredentials, probeProxy } from '../../core/remote.js'
import { browserOpener, openUrl, signInLink } from '../browser.js'
import type { CommandSpec, Parsed } from '../flags.js'
import { settingsFromFlags } from '../settings-flags.js'

export const spec = {
  usage: '[options]',
  description: [
    'Prints the address of the gallery, the page the proxy serves at / with every image made, its prompt, model, size, cost and transaction, and the spend per day against the budget; and opens it in your browser when one is at hand. ' +
      'With no proxy of ours on the port, runs one until Ctrl-C (as `imagegen serve`). Where the proxy admits browsers only with a session (--auth token), prints a one-time sign-in link that opens the gallery.',
  ],
  positionals: { min: 0, max: 0 },
  flags: {
    'no-open': { type: 'boolean', description: 'Print the address only; do not open a browser.' },
  },
  settings: 'all',
  examples: ['imagegen gallery', 'imagegen gallery --no-open --port 8403'],
} as const satisfies CommandSpec

export async function run({ values }: Parsed<typeof spec>): Promise<number | void> {
  const settings = settingsFromFlags(values)
  if (settings.port === 0) {
    process.stderr.write('imagegen gallery: the gallery is served by the proxy on its port; --port 0 (BLOCKRUN_PROXY_PORT=0) names none.\n')
    return 2
  }
  const base = `http://127.0.0.1:${settings.port}`
  const probe = await probeProxy(base, await loadProxyCredentials(settings), 2000)
  if (probe.kind === 'foreign') {
    process.stderr.write(`imagegen gallery: ${foreignName(probe)} holds port ${settings.port} (${probe.reason}). The gallery is served by our proxy: give it another port, e.g. imagegen gallery --port 8403.\n`)
    return 1
  }
  let proxy: RunningProxy | undefined
  if (probe.kind === 'absent') {
    const { startProxy } = await import('../../http/server.js')
    proxy = await startProxy(settings, { log: (line) => process.stderr.write(`${line}\n`) })
  }
  const mode = proxy ? proxy.auth.mode : probe.kind === 'ours' ? probe.auth : 'owner'
  const address = `${proxy?.url ?? base}/`
  let open = address
  process.stdout.write(`${address}\n`)
  if (mode === 'token') {
    // Read again: a proxy started just now made the token.
    const credentials = await loadProxyCredentials(settings)
    if (!('token' in credentials)) throw new Error(credentials.reason)
    const link = await signInLink(base, credentials, '/')
    open = link.url
    process.stdout.write(`${link.url}\n`)
    process.stderr.write(`(this proxy admits browsers with a session: open the second link once, within ${Math.round(link.expiresInSeconds / 60)} minutes, to sign this browser in for 30 days)\n`)
  }
  const opener = values['no-open'] ? undefined : browserOpener()
  if (opener) process.stderr.write((await openUrl(opener, open)) ? 'opened in your browser\n' : 'could not start a browser: open the address above yourself\n')
  else if (!values['no-open']) process.stderr.write('(no browser here to open it in: open the address above in yours)\n')
  if (!proxy) return 0
  process.stderr.write(`No proxy of ours was running on port ${settings.port}: serving the gallery (and the proxy's API) from this process until Ctrl-C.\n`)
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve())
    process.once('SIGTERM', () => resolve())
  })
  await proxy.close({ graceMs: 5000 })
}
