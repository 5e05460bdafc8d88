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
export function readToken(home: string): Promise<string | undefined> {
  return readSecret(tokenPath(home), 'proxy token')
}

/**
 * The token in `home`, creating it when absent. The file is created exclusively (two processes
 * starting at once agree on one token). An existing file readable by others is made 0600: the
 * token stands for the user, like the wallet key beside it.
 */
export function ensureToken(home: string): Promise<string> {
  return ensureSecret(home, tokenPath(home), 'proxy token')
}

/**
 * The consent key: a second secret beside the token, in `$BLOCKRUN_HOME/consent.key` (0600). Our
 * own front doors send it (`X-Imagegen-Consent-Key`) with a payment the user consented to above
 * the confirmation threshold. The token may be handed to HTTP clients (the OpenAI SDK's `apiKey`
 * in token mode, which an agent then holds); the consent key never is, so a client holding the
 * token still cannot consent for the user.
 */
export const CONSENT_KEY_FILE = 'consent.key'

export function readConsentKey(home: string): Promise<string | undefined> {
  return readSecret(join(home, CONSENT_KEY_FILE), 'consent key')
}

export function ensureConsentKey(home: string): Promise<string> {
  return ensureSecret(home, join(home, CONSENT_KEY_FILE), 'consent key')
}

async function readSecret(path: string, name: string): Promise<string | undefined> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return undefined
    throw new TokenFileError(`Cannot read the ${name} file ${path}: ${code ?? 'error'}.`)
  }
  const secret = text.trim()
  if (!TOKEN_PATTERN.test(secret)) throw new TokenFileError(`The ${name} file ${path} is malformed. Delete it; a new one is made when the proxy starts.`)
  return secret
}

async function ensureSecret(home: string, path: string, name: string): Promise<string> {
  const existing = await readSecret(path, name)
  if (existing) {
    await tighten(path)
    return existing
  }
  await mkdir(home, { recursive: true, mode: 0o700 })
  const fresh = randomBytes(32).toString('base64url')
  try {
    await writeFileAtomic(path, `${fresh}\n`, { mode: 0o600, exclusive: true })
    return fresh
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    const theirs = await readSecret(path, name)
    if (!theirs) throw new TokenFileError(`${path} appeared while creating it but cannot be read.`)
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
