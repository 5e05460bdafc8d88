/**
 * `imagegen edit` as a user runs it: the built CLI as a child process, against the sandbox, in
 * process (no proxy on the port) and through a running proxy. Needs `npm run build` first.
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { editPriceAt, expectedEdit, untagged } from './helpers/edits.js'
import { makeImage, makeMask } from './helpers/images.js'
import { startStack, type Stack } from './helpers/stack.js'

const CLI = resolve('dist/server/cli/index.js')

type Run = { code: number; stdout: string; stderr: string }

function runCli(args: string[], options: { cwd: string; env: Record<string, string> }): Promise<Run> {
  // Only the variables this test sets: an inherited BLOCKRUN_* (a real wallet key) must not leak in.
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('BLOCKRUN_')))
  return new Promise((done) => {
    execFile(process.execPath, [CLI, ...args], { cwd: options.cwd, env: { ...inherited, ...options.env }, timeout: 60_000 }, (error, stdout, stderr) => {
      done({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr })
    })
  })
}

describe('imagegen edit (built CLI, child process)', () => {
  let stack: Stack
  let dir: string
  let png: Buffer
  let env: Record<string, string>

  beforeAll(async () => {
    expect(existsSync(CLI), `${CLI} is missing: run npm run build`).toBe(true)
    stack = await startStack()
    dir = join(stack.home, 'work')
    await mkdir(dir)
    png = await makeImage(320, 240, 'png', 7)
    await writeFile(join(dir, 'photo.png'), png)
    await writeFile(join(dir, 'mask.jpg'), await makeMask(320, 240, 'jpeg'))
    await writeFile(join(dir, 'notes.txt'), 'not a picture\n')
    // Port 0: no proxy probe, the pipeline runs in the CLI process with the stack's home and wallet.
    env = { BLOCKRUN_HOME: stack.home, BLOCKRUN_API_URL: stack.sandbox.url, BLOCKRUN_PROXY_PORT: '0', HOME: stack.home }
  })
  afterAll(async () => stack.close())

  it('edits a relative path with a mask, at a size, into --out', async () => {
    const before = stack.sandbox.usdc.transfers.length
    const run = await runCli(['edit', 'photo.png', 'add a red hat', '--mask', 'mask.jpg', '--size', '1024x1536', '--out', 'hat.png'], { cwd: dir, env })
    expect(run.code, run.stderr).toBe(0)
    expect(run.stdout.trim()).toBe(join(dir, 'hat.png'))
    const out = await readFile(join(dir, 'hat.png'))
    expect(untagged(out).equals(await expectedEdit('add a red hat', png, true, '1024x1536'))).toBe(true)
    expect(stack.sandbox.usdc.transfers.length).toBe(before + 1)
    expect(stack.sandbox.usdc.transfers.at(-1)!.amount).toBe(editPriceAt('1024x1536'))
    expect(run.stderr).toContain('openai/gpt-image-1 1024x1536')
    const key = (await readFile(join(stack.home, 'wallet.key'), 'utf8')).trim().replace(/^0x/, '')
    expect(`${run.stdout}${run.stderr}`).not.toContain(key)
  })

  it('combines the image with more given by --image (relative paths too), on the model asked for', async () => {
    const logo = await makeImage(120, 120, 'jpeg', 8)
    await writeFile(join(dir, 'logo.jpg'), logo)
    const before = stack.sandbox.usdc.transfers.length
    const run = await runCli(['edit', 'photo.png', 'put the logo on it', '--image', 'logo.jpg', '--model', 'nano-banana'], { cwd: dir, env })
    expect(run.code, run.stderr).toBe(0)
    expect(untagged(await readFile(run.stdout.trim())).equals(await expectedEdit('put the logo on it', [png, logo], false))).toBe(true)
    expect(stack.sandbox.usdc.transfers.length).toBe(before + 1)
    expect(stack.sandbox.usdc.transfers.at(-1)!.amount).toBe(53_500n) // nano-banana: $0.05 × 1.05 + $0.001
  })

  it('reads ~/ paths from the home of the user running it', async () => {
    const run = await runCli(['edit', '~/work/photo.png', 'from home'], { cwd: '/', env })
    expect(run.code, run.stderr).toBe(0)
    const path = run.stdout.trim()
    expect(untagged(await readFile(path)).equals(await expectedEdit('from home', png, false))).toBe(true)
  })

  it('goes through a running proxy when one answers on the port', async () => {
    const before = stack.sandbox.usdc.transfers.length
    const run = await runCli(['edit', 'photo.png', 'via the proxy', '--json'], { cwd: dir, env: { ...env, BLOCKRUN_PROXY_PORT: String(stack.proxy.port) } })
    expect(run.code, run.stderr).toBe(0)
    const result = JSON.parse(run.stdout)
    expect(result.images[0].url.startsWith(`${stack.proxy.url}/images/`)).toBe(true)
    expect(untagged(await readFile(result.images[0].path)).equals(await expectedEdit('via the proxy', png, false))).toBe(true)
    expect(stack.sandbox.usdc.transfers.length).toBe(before + 1)
  })

  it('refuses a non-image and a non-edit model with exit code 1, a message naming the problem, and no payment', async () => {
    const imageRequests = stack.sandbox.counters.imageRequests
    const transfers = stack.sandbox.usdc.transfers.length
    const text = await runCli(['edit', 'notes.txt', 'x'], { cwd: dir, env })
    expect(text.code).toBe(1)
    expect(text.stderr).toContain(`image: ${JSON.stringify(join(dir, 'notes.txt'))} is not a PNG, JPEG or WebP image (it is text).`)
    const model = await runCli(['edit', 'photo.png', 'x', '--model', 'flux'], { cwd: dir, env })
    expect(model.code).toBe(1)
    expect(model.stderr).toContain('cannot edit images')
    const usage = await runCli(['edit', 'photo.png'], { cwd: dir, env })
    expect(usage.code).toBe(2)
    expect(usage.stderr).toContain('usage: imagegen edit')
    expect(stack.sandbox.counters.imageRequests).toBe(imageRequests)
    expect(stack.sandbox.usdc.transfers.length).toBe(transfers)
  })
})
