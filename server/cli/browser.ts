/**
 * The browser, from the command line: a one-time sign-in link from a proxy of ours (which proved
 * itself first: the token goes nowhere else), and opening a URL in the user's browser when there
 * is one to open it in.
 */
import { spawn } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { delimiter, join } from 'node:path'
import { BROWSER_LINK_PATH } from '../auth/browser-session.js'
import { provenRequest, type ProxyCredentials } from '../core/proven-proxy.js'

/** A one-time sign-in link from the proxy at `base` that opens `next` once signed in; throws with the proxy's reason. */
export async function signInLink(base: string, credentials: ProxyCredentials, next: string | undefined): Promise<{ url: string; expiresInSeconds: number }> {
  const answer = await provenRequest(new URL(base), credentials, BROWSER_LINK_PATH, { method: 'POST', body: JSON.stringify(next ? { next } : {}) })
  const body = JSON.parse(answer.text) as { url?: string; expires_in?: number; error?: { message?: string } }
  if (answer.status !== 200 || !body.url) throw new Error(`the proxy refused a sign-in link: ${body.error?.message ?? `HTTP ${answer.status}`}`)
  return { url: body.url, expiresInSeconds: body.expires_in ?? 300 }
}

/**
 * How this machine opens a URL in a browser, or undefined where no browser is at hand (no
 * display on Linux, a server, CI). `BROWSER` (the usual variable: a program, `%s` standing for
 * the URL, or `none`) wins.
 */
export function browserOpener(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): ((url: string) => [string, string[]]) | undefined {
  const chosen = env.BROWSER?.trim()
  if (chosen !== undefined && chosen !== '') {
    if (chosen === 'none') return undefined
    const [program, ...args] = chosen.split(/\s+/)
    return (url) => [program!, args.some((arg) => arg.includes('%s')) ? args.map((arg) => arg.replaceAll('%s', url)) : [...args, url]]
  }
  if (platform === 'darwin') return (url) => ['open', [url]]
  // Not `cmd /c start`: cmd would read the `&` of a query string as its own.
  if (platform === 'win32') return (url) => ['rundll32', ['url.dll,FileProtocolHandler', url]]
  if (!env.DISPLAY && !env.WAYLAND_DISPLAY) return undefined
  const opener = onPath('xdg-open', env.PATH)
  return opener ? (url) => [opener, [url]] : undefined
}

/** Opens `url` with `opener`, detached; resolves true once the program started, false when it could not. */
export function openUrl(opener: (url: string) => [string, string[]], url: string): Promise<boolean> {
  const [program, args] = opener(url)
  return new Promise((resolve) => {
    const child = spawn(program, args, { detached: true, stdio: 'ignore' })
    child.once('error', () => resolve(false))
    child.once('spawn', () => {
      child.unref()
      resolve(true)
    })
  })
}

function onPath(name: string, path = ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue
    const candidate = join(dir, name)
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {
      // not here
    }
  }
  return undefined
}
