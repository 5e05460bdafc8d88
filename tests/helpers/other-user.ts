/**
 * Requests made as another OS user: a small Node client run through `setpriv` as `nobody`, the way
 * any other account on the machine could call the proxy. Only root can switch users, so the tests
 * using this are skipped, with the reason, when not root (CI runs as root).
 */
import { execFile, spawnSync } from 'node:child_process'
import { chmod, mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

export const NOBODY = 65534

/** Why requests as another user cannot be made here, or undefined when they can. */
export const otherUserUnavailable: string | undefined =
  process.platform !== 'linux'
    ? 'the socket-owner check is Linux-only'
    : process.getuid?.() !== 0
      ? 'switching to another user (setpriv --reuid) needs root; CI runs the suite as root'
      : spawnSync('setpriv', ['--version']).status !== 0
        ? 'setpriv (util-linux) is not installed'
        : undefined

export type Call = { url: string; method?: string; headers?: Record<string, string>; body?: string; redirect?: 'manual' | 'follow' }
export type Answer = { status: number; body: string; headers: Record<string, string> }
export type OtherUserRun = { uid: number; answers: Answer[]; reads: Record<string, string> }

const CLIENT = `
import { readFileSync } from 'node:fs'
const { calls, reads } = JSON.parse(process.argv[2])
const answers = []
for (const call of calls) {
  try {
    const response = await fetch(call.url, { method: call.method ?? 'GET', headers: call.headers ?? {}, body: call.body, redirect: call.redirect ?? 'follow' })
    answers.push({ status: response.status, body: await response.text(), headers: Object.fromEntries(response.headers) })
  } catch (error) {
    answers.push({ status: 0, body: String(error), headers: {} })
  }
}
const read = {}
for (const path of reads) {
  try { readFileSync(path); read[path] = 'read' } catch (error) { read[path] = error.code }
}
process.stdout.write(JSON.stringify({ uid: process.getuid(), answers, reads: read }))
`

let clientPath: Promise<string> | undefined

/** Makes `calls` (and tries to read `reads`) as user `uid`, through setpriv. */
export async function asOtherUser(calls: Call[], { uid = NOBODY, reads = [] }: { uid?: number; reads?: string[] } = {}): Promise<OtherUserRun> {
  clientPath ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'imagegen-other-user-'))
    await chmod(dir, 0o755)
    const path = join(dir, 'client.mjs')
    await writeFile(path, CLIENT, { mode: 0o644 })
    return path
  })()
  const path = await clientPath
  const { stdout } = await promisify(execFile)(
    'setpriv',
    [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', process.execPath, path, JSON.stringify({ calls, reads })],
    { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/nonexistent' }, cwd: '/', maxBuffer: 64 * 1024 * 1024 },
  )
  return JSON.parse(stdout) as OtherUserRun
}
