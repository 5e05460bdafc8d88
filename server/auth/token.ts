/**
 * The proxy token: a random secret in `$BLOCKRUN_HOME/proxy.token` (mode 0600), created when first
 * needed. It is what HTTP clients send as `Authorization: Bearer` where the kernel cannot vouch
 * for them (token mode, or a connection from beyond loopback), and the key of the identity proof a
 * running proxy gives our own front doors (./identity.ts). Only processes that can read the file,
 * that is the user who owns it, hold it.
 *
 * It is never printed except by `imagegen token`, where the user asks for it.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { chmod, mkdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { writeFileAtomic } from '../store/atomic.js'

export const TOKEN_FILE = 'proxy.token'

export function tokenPath(home: string): string {
  return join(home, TOKEN_FILE)
}

/** 32 random bytes, base64url: 43 characters, usable as an OpenAI SDK `apiKey` as it is. */
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/

export class TokenFileError extends Error {
  override name = 'TokenFileError'
}

/** The token in `home`, or undefined when there is no token file. Throws when it exists but is unusable. */
export async function readToken(home: string): Promise<string | undefined> {
  const path = tokenPath(home)
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return undefined
    throw new TokenFileError(`Cannot read the proxy token file ${path}: ${code ?? 'error'}.`)
  }
  const token = text.trim()
  if (!TOKEN_PATTERN.test(token)) throw new TokenFileError(`The proxy token file ${path} is malformed. Delete it; a new one is made when the proxy starts.`)
  return token
}

/**
 * The token in `home`, creating it when absent. The file is created exclusively (two processes
 * starting at once agree on one token). An existing file readable by others is made 0600: the
 * token stands for the user, like the wallet key beside it.
 */
export async function ensureToken(home: string): Promise<string> {
  const existing = await readToken(home)
  if (existing) {
    await tighten(tokenPath(home))
    return existing
  }
  await mkdir(home, { recursive: true, mode: 0o700 })
  const fresh = randomBytes(32).toString('base64url')
  try {
    await writeFileAtomic(tokenPath(home), `${fresh}\n`, { mode: 0o600, exclusive: true })
    return fresh
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    const theirs = await readToken(home)
    if (!theirs) throw new TokenFileError(`${tokenPath(home)} appeared while creating it but cannot be read.`)
    return theirs
  }
}

async function tighten(path: string): Promise<void> {
  const info = await stat(path)
  if ((info.mode & 0o077) !== 0 && info.uid === process.getuid?.()) await chmod(path, 0o600)
}

/** Compares a presented secret with ours in constant time (both hashed first, so lengths may differ). */
export function sameSecret(presented: string, ours: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest()
  return timingSafeEqual(digest(presented), digest(ours))
}
