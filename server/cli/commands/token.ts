/**
 * `imagegen token`: prints the proxy token (creating it if there is none yet), for clients that
 * send `Authorization: Bearer` (the OpenAI SDK's `apiKey`): `OPENAI_API_KEY=$(imagegen token)`.
 * `imagegen token --browser [--next /images/<file>]` asks the running proxy, once it has proved
 * it is ours, for a one-time sign-in link for a browser, and prints that instead.
 *
 * The only commands that print a secret, because the user asked for it.
 */
import { ensureToken, tokenPath } from '../../auth/token.js'
import { loadProxyCredentials, probeProxy } from '../../core/remote.js'
import { signInLink } from '../browser.js'
import type { CommandSpec, Parsed } from '../flags.js'
import { settingsFromFlags } from '../settings-flags.js'

export const spec = {
  usage: '[--browser [--next /images/FILE]] [options]',
  description: ['Prints the token (made on first use) for clients that send Authorization: Bearer, e.g. OPENAI_API_KEY=$(imagegen token). With --browser, asks the running proxy for a one-time sign-in link instead.'],
  positionals: { min: 0, max: 0 },
  flags: {
    browser: { type: 'boolean', description: 'Print a one-time sign-in link for a browser from the running proxy (valid 5 minutes; the session lasts 30 days).' },
    next: { type: 'string', value: 'PATH', description: 'With --browser: the page the link opens after signing in, e.g. /images/<file>.', check: (value) => (value.startsWith('/') && !value.startsWith('//') ? undefined : 'expected a path on the proxy, such as /images/<file>') },
  },
  settings: ['home', 'port'],
} as const satisfies CommandSpec

export async function run({ values }: Parsed<typeof spec>): Promise<number | void> {
  if (values.next !== undefined && !values.browser) {
    process.stderr.write('imagegen token: --next goes with --browser\n')
    return 2
  }
  const settings = settingsFromFlags(values)
  if (!values.browser) {
    const token = await ensureToken(settings.home)
    process.stdout.write(`${token}\n`)
    process.stderr.write(`(the token in ${tokenPath(settings.home)}: send it as Authorization: Bearer, or as the OpenAI SDK's apiKey)\n`)
    return 0
  }
  const base = `http://127.0.0.1:${settings.port}`
  const credentials = await loadProxyCredentials(settings)
  const probe = await probeProxy(base, credentials, 2000)
  if (probe.kind !== 'ours' || !('token' in credentials)) {
    process.stderr.write(`imagegen token --browser: no proxy of ours answers on ${base}${probe.kind === 'foreign' ? ` (${probe.reason})` : ''}. Start it with \`imagegen serve\` first.\n`)
    return 1
  }
  let link: { url: string; expiresInSeconds: number }
  try {
    link = await signInLink(base, credentials, values.next)
  } catch (error) {
    process.stderr.write(`imagegen token --browser: ${(error as Error).message}\n`)
    return 1
  }
  process.stdout.write(`${link.url}\n`)
  process.stderr.write(
    `(open it once, within ${Math.round(link.expiresInSeconds / 60)} minutes, in the browser to sign in; it then works for 30 days)` +
      (probe.auth === 'token' ? '\n' : `\n(this proxy admits your own browser without it: its mode is "${probe.auth}")\n`),
  )
  return 0
}
