/**
 * Who may call the proxy (issue #16 items 2, 6): the real `imagegen serve` as a child process,
 * called by its own user (root here, as in CI), by another user of the machine (`nobody`, through
 * setpriv), with and without the token, from a browser with a one-time link, and bound beyond
 * loopback. Nothing is mocked: the socket table is the kernel's, the files are on disk, the upstream
 * is the sandbox on a real port.
 */
import { execFile } from 'node:child_process'
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises'
import { networkInterfaces } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readLedger } from '../server/payment/ledger.js'
import { startSandbox, type RunningSandbox } from '../server/sandbox/server.js'
import { loadWallet } from '../server/wallet/key.js'
import { makeImage } from './helpers/images.js'
import { asOtherUser, NOBODY, otherUserUnavailable } from './helpers/other-user.js'
import { CLI, spawnProxy, type ProxyProcess } from './helpers/processes.js'
import { statusWithHost, tempHome } from './helpers/stack.js'

const OFFLINE_RPC = { BASE_RPC_URL: 'http://127.0.0.1:9', BASE_SEPOLIA_RPC_URL: 'http://127.0.0.1:9' }
const run = promisify(execFile)

type Served = { home: string; proxy: ProxyProcess; sandbox: RunningSandbox; token(): Promise<string>; close(): Promise<void> }

/** A funded wallet in `home` (made by `prepare` first, if given), a sandbox, and `imagegen serve` in front. */
async function serve({ args = [], env = {}, prepare }: { args?: string[]; env?: Record<string, string>; prepare?: (home: string) => Promise<void> } = {}): Promise<Served> {
  const home = await tempHome('imagegen-callers-')
  await prepare?.(home)
  const wallet = await loadWallet({ home })
  const sandbox = await startSandbox({ jobMs: 50, fund: { [wallet.address]: 10_000_000n } })
  const proxy = await spawnProxy({ home, upstream: sandbox.url, args, env: { ...OFFLINE_RPC, ...env } })
  return {
    home,
    proxy,
    sandbox,
    token: async () => (await readFile(join(home, 'proxy.token'), 'utf8')).trim(),
    async close() {
      await proxy.stop()
      await sandbox.close()
    },
  }
}

/** Runs the CLI against a served proxy; stdout, stderr and the exit code. */
async function cli(served: Served, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env, ...OFFLINE_RPC, BLOCKRUN_HOME: served.home, BLOCKRUN_PROXY_PORT: String(served.proxy.port), BLOCKRUN_API_URL: served.sandbox.url }
  return run(process.execPath, [CLI, ...args], { env }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
  )
}

const json = (body: unknown) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })

/** An IPv4 address of this machine that is not loopback, if it has one. */
function lanAddress(): string | undefined {
  return Object.values(networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal)?.address
}

describe(`another user of the machine cannot use the proxy${otherUserUnavailable ? ` (skipped: ${otherUserUnavailable})` : ''}`, () => {
  let served: Served
  let secretPath: string
  let secret: Buffer
  let imageFile: string
  let imagePath: string

  beforeAll(async () => {
    if (otherUserUnavailable) return
    // An existing home, as ClawRouter or an older version left it: world-readable folders.
    served = await serve({
      prepare: async (home) => {
        await chmod(home, 0o755)
        await mkdir(join(home, 'images'), { mode: 0o755 })
        await chmod(join(home, 'images'), 0o755)
      },
    })
    // A picture only its owner (root) may read.
    const privateDir = await tempHome('imagegen-owner-files-')
    secretPath = join(privateDir, 'holiday.png')
    secret = await makeImage(64, 64, 'png', 7)
    await writeFile(secretPath, secret, { mode: 0o600 })
  })
  afterAll(async () => served?.close())

  it.skipIf(otherUserUnavailable)('the owner needs nothing but plain HTTP: generate, edit their own 0600 file, usage, images', async () => {
    const { url } = served.proxy
    const generated = await fetch(`${url}/v1/images/generations`, json({ model: 'flux', prompt: 'the owner generates' }))
    expect(generated.status).toBe(200)
    const body = (await generated.json()) as { data: Array<{ file: string; path: string }> }
    imageFile = body.data[0]!.file
    imagePath = body.data[0]!.path
    const edited = await fetch(`${url}/v1/images/image2image`, json({ model: 'gpt-image', prompt: 'the owner edits', image: secretPath }))
    expect(edited.status).toBe(200)
    expect((await fetch(`${url}/v1/usage`)).status).toBe(200)
    expect((await fetch(`${url}/images/${imageFile}`)).status).toBe(200)
  })

  it.skipIf(otherUserUnavailable)("nobody gets only /health: no spending, no reading the owner's files, no images, no usage", async () => {
    const { url } = served.proxy
    const requestsBefore = served.sandbox.counters.requests
    const ledgerBefore = (await readLedger(served.home)).length
    const calls = [
      { url: `${url}/v1/images/generations`, ...json({ model: 'flux', prompt: 'nobody generates' }) },
      { url: `${url}/v1/images/image2image`, ...json({ model: 'gpt-image', prompt: 'nobody edits', image: secretPath, response_format: 'b64_json' }) },
      { url: `${url}/v1/usage` },
      { url: `${url}/v1/wallet` },
      { url: `${url}/v1/models` },
      { url: `${url}/images/${imageFile}` },
      { url: `${url}/v1/identity?nonce=${'a'.repeat(64)}` },
      { url: `${url}/health` },
    ]
    const { uid, answers, reads } = await asOtherUser(calls, { reads: [imagePath, secretPath] })
    expect(uid).toBe(NOBODY)
    const statuses = answers.map((a) => a.status)
    expect(statuses).toEqual([403, 403, 403, 403, 403, 403, 403, 200])
    for (const answer of answers.slice(0, -1)) {
      expect(JSON.parse(answer.body).error).toMatchObject({ code: 'forbidden_user' })
      expect(answer.body).toContain(`uid ${NOBODY}`)
    }
    // The owner's picture did not come back in any form, nothing went upstream, nothing was signed.
    for (const answer of answers) expect(answer.body).not.toContain(secret.toString('base64').slice(0, 40))
    expect(served.sandbox.counters.requests).toBe(requestsBefore)
    expect((await readLedger(served.home)).length).toBe(ledgerBefore)
    // /health says what this is, not whose wallet.
    expect(JSON.parse(answers.at(-1)!.body)).toEqual({ service: 'blockrun-imagegen', ready: true, version: expect.any(String) })
    // And the files themselves are out of reach (the images folder is 0700).
    expect(reads).toEqual({ [imagePath]: 'EACCES', [secretPath]: 'EACCES' })
  })

  it.skipIf(otherUserUnavailable)('images and the images folder are private (0700/0600), even in an existing world-readable home', async () => {
    expect((await stat(join(served.home, 'images'))).mode & 0o777).toBe(0o700)
    expect((await stat(imagePath)).mode & 0o777).toBe(0o600)
    expect((await stat(join(served.home, 'proxy.token'))).mode & 0o777).toBe(0o600)
  })

  it.skipIf(otherUserUnavailable)("a user holding the token is let in (that is what the token is for); a wrong one is not", async () => {
    const { url } = served.proxy
    const { answers } = await asOtherUser([
      { url: `${url}/v1/models`, headers: { authorization: `Bearer ${await served.token()}` } },
      { url: `${url}/v1/models`, headers: { authorization: `Bearer ${'x'.repeat(43)}` } },
    ])
    expect(answers.map((a) => a.status)).toEqual([200, 403])
  })

  it.skipIf(otherUserUnavailable)('the proxy says who may call, and never prints the token', async () => {
    expect(served.proxy.output()).toContain("callers  your user only, by the kernel's socket table")
    expect(served.proxy.output()).not.toContain(await served.token())
  })
})

it.runIf(otherUserUnavailable !== undefined && process.env.CI !== undefined)('CI runs the other-user tests (as root, with setpriv)', () => {
  expect.fail(`the other-user tests were skipped in CI: ${otherUserUnavailable}`)
})

describe('token mode (BLOCKRUN_AUTH=token): every caller needs the token', () => {
  let served: Served
  let token: string
  let imageFile: string
  let imageBytes: Buffer

  beforeAll(async () => {
    served = await serve({ env: { BLOCKRUN_AUTH: 'token' } })
    token = await served.token()
  })
  afterAll(async () => served.close())

  it('refuses plain and wrong-token calls with 401 and WWW-Authenticate; the token in Authorization: Bearer works', async () => {
    const { url } = served.proxy
    const plain = await fetch(`${url}/v1/models`)
    expect(plain.status).toBe(401)
    expect(plain.headers.get('www-authenticate')).toBe('Bearer realm="imagegen"')
    expect(((await plain.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'token_required', message: expect.stringContaining('imagegen token') })
    const wrong = await fetch(`${url}/v1/images/generations`, { ...json({ prompt: 'x' }), headers: { 'content-type': 'application/json', authorization: `Bearer ${token.slice(1)}x` } })
    expect(wrong.status).toBe(401)
    expect(((await wrong.json()) as { error: { code: string } }).error.code).toBe('invalid_token')
    expect((await fetch(`${url}/v1/models`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200)
    // Public: liveness and the identity proof (our front doors check it before sending the token).
    expect((await fetch(`${url}/health`)).status).toBe(200)
    expect((await fetch(`${url}/v1/identity?nonce=${'b'.repeat(64)}`)).status).toBe(200)
    expect(served.sandbox.counters.imageRequests).toBe(0)
  })

  it("the OpenAI SDK's apiKey is the token", async () => {
    const client = new OpenAI({ apiKey: token, baseURL: `${served.proxy.url}/v1`, maxRetries: 0 })
    const result = await client.images.generate({ model: 'flux', prompt: 'through the SDK', size: '1024x1024' })
    const url = result.data![0]!.url!
    imageFile = url.slice(url.lastIndexOf('/') + 1)
    imageBytes = await readFile(join(served.home, 'images', imageFile))
    const stranger = new OpenAI({ apiKey: 'sk-not-the-token', baseURL: `${served.proxy.url}/v1`, maxRetries: 0 })
    await expect(stranger.images.generate({ model: 'flux', prompt: 'no' })).rejects.toMatchObject({ status: 401 })
  })

  it('our own front doors read the token file: the CLI pays through the proxy, and `imagegen token` prints it', async () => {
    const generated = await cli(served, ['generate', 'through the CLI', '--model', 'flux'])
    expect(generated.code, generated.stderr).toBe(0)
    expect(generated.stderr).toContain(`url  ${served.proxy.url}/images/`)
    expect(generated.stderr).not.toContain('served while') // the in-process note: it went through the proxy
    const printed = await cli(served, ['token'])
    expect(printed.stdout.trim()).toBe(token)
  })

  it('a browser signs in with a one-time link: an HttpOnly SameSite=Strict cookie that can look, not pay', async () => {
    const { url } = served.proxy
    const linked = await cli(served, ['token', '--browser', '--next', `/images/${imageFile}`])
    expect(linked.code, linked.stderr).toBe(0)
    const link = linked.stdout.trim()
    expect(link).toMatch(new RegExp(`^${url}/auth/browser\\?code=[A-Za-z0-9_-]{32}$`))
    expect(link).not.toContain(token)

    const signedIn = await fetch(link, { redirect: 'manual' })
    expect(signedIn.status).toBe(303)
    expect(signedIn.headers.get('location')).toBe(`/images/${imageFile}`)
    const setCookie = signedIn.headers.get('set-cookie')!
    expect(setCookie).toMatch(new RegExp(`^imagegen_session_${served.proxy.port}=[^;]+; Path=/; Max-Age=\\d+; HttpOnly; SameSite=Strict$`))
    expect(setCookie).not.toContain(token)
    const cookie = setCookie.split(';')[0]!

    const image = await fetch(`${url}/images/${imageFile}`, { headers: { cookie } })
    expect(image.status).toBe(200)
    expect(Buffer.from(await image.arrayBuffer()).equals(imageBytes)).toBe(true)
    expect((await fetch(`${url}/v1/wallet`, { headers: { cookie } })).status).toBe(200)
    // A cookie leaks to every port of the host, so it cannot pay.
    const paid = await fetch(`${url}/v1/images/generations`, { ...json({ prompt: 'with a cookie' }), headers: { 'content-type': 'application/json', cookie } })
    expect(paid.status).toBe(401)
    // Once only.
    expect((await fetch(link, { redirect: 'manual' })).status).toBe(403)
    // A forged or altered session is nothing.
    const forged = cookie.replace(/.(?=$)/, (c) => (c === 'A' ? 'B' : 'A'))
    expect((await fetch(`${url}/images/${imageFile}`, { headers: { cookie: forged } })).status).toBe(401)
    expect((await fetch(`${url}/images/${imageFile}`)).status).toBe(401)
  })

  it.skipIf(otherUserUnavailable)('another user with the token is let in, and without it is not', async () => {
    const { url } = served.proxy
    const { answers } = await asOtherUser([{ url: `${url}/v1/usage` }, { url: `${url}/v1/usage`, headers: { authorization: `Bearer ${token}` } }])
    expect(answers.map((a) => a.status)).toEqual([401, 200])
  })

  it('the token never shows in the proxy output', async () => {
    expect(served.proxy.output()).toContain('callers  every caller sends the token')
    expect(served.proxy.output()).not.toContain(token)
  })
})

describe('bound beyond loopback (--host 0.0.0.0)', () => {
  let served: Served
  let token: string

  beforeAll(async () => {
    served = await serve({ args: ['--host', '0.0.0.0'] })
    token = await served.token()
  })
  afterAll(async () => served.close())

  it('warns, creates the token (0600) and requires it from anyone the kernel does not vouch for', async () => {
    expect(served.proxy.output()).toMatch(/WARNING: bound to 0\.0\.0\.0, beyond loopback/)
    expect(served.proxy.output()).toContain('must send the token')
    expect((await stat(join(served.home, 'proxy.token'))).mode & 0o777).toBe(0o600)
    // The owner's own processes still need nothing.
    expect((await fetch(`${served.proxy.url}/v1/models`)).status).toBe(200)
  })

  it('keeps the Host check: a rebinding page (its own host name) is refused, this machine\'s names are not', async () => {
    const { url, port } = served.proxy
    expect(await statusWithHost(`${url}/v1/models`, `evil.example:${port}`)).toBe(403)
    expect(await statusWithHost(`${url}/v1/models`, `evil.example:${port}`, { authorization: `Bearer ${token}` })).toBe(403)
    expect(await statusWithHost(`${url}/v1/models`, `127.0.0.1:${port + 1}`)).toBe(403)
    expect(await statusWithHost(`${url}/v1/models`, `localhost:${port}`)).toBe(200)
    const lan = lanAddress()
    if (lan) expect(await statusWithHost(`http://${lan}:${port}/v1/models`, `${lan}:${port}`)).toBe(200)
  })

  it("keeps the Origin check: only the proxy's own origin", async () => {
    const { url, port } = served.proxy
    const foreign = await fetch(`${url}/v1/images/generations`, { ...json({ prompt: 'x' }), headers: { 'content-type': 'application/json', origin: 'http://localhost:3000', authorization: `Bearer ${token}` } })
    expect(foreign.status).toBe(403)
    expect((await fetch(`${url}/v1/models`, { headers: { origin: `http://localhost:${port}` } })).status).toBe(200)
    expect(served.sandbox.counters.imageRequests).toBe(0)
  })

  it.skipIf(otherUserUnavailable)('another user, over loopback or the LAN address, needs the token', async () => {
    const { port } = served.proxy
    const targets = [`http://127.0.0.1:${port}`, ...(lanAddress() ? [`http://${lanAddress()}:${port}`] : [])]
    const calls = targets.flatMap((base) => [{ url: `${base}/v1/usage` }, { url: `${base}/v1/usage`, headers: { authorization: `Bearer ${token}` } }])
    const { answers } = await asOtherUser(calls)
    expect(answers.map((a) => a.status)).toEqual(targets.flatMap(() => [403, 200]))
  })
})
