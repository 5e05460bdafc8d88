/**
 * `imagegen generate` as a user runs it (the built CLI, a child process, against the sandbox):
 * `--out` in the format its extension names, a failure after paying that still says where the
 * paid image is and what it cost, errors that name the upstream's URL, no URL on a port that is
 * not ours, and `usage` saying why the budget counts more than was spent. Needs `npm run build`.
 */
import { existsSync } from 'node:fs'
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { spawn } from 'node:child_process'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CLI, freePort, runCli } from './helpers/processes.js'
import { startCliStack, startStack, type Stack } from './helpers/stack.js'

const NANO_BANANA = 53_500n // $0.05 × 1.05 + $0.001

describe('--out writes the format its extension names', () => {
  let stack: Stack
  let work: string
  let env: Record<string, string>

  beforeAll(async () => {
    ;({ stack, work, env } = await startCliStack())
  })
  afterAll(async () => stack.close())

  for (const [ext, format] of [['jpg', 'jpeg'], ['jpeg', 'jpeg'], ['webp', 'webp'], ['avif', 'heif']] as const) {
    it(`.${ext}: ${format} bytes, converted from the PNG the model made, and said so`, async () => {
      const run = await runCli(['generate', `a ${ext} cat`, '--out', `cat.${ext}`], { env, cwd: work })
      expect(run.code, run.stderr).toBe(0)
      expect(run.stdout.trim()).toBe(join(work, `cat.${ext}`))
      const meta = await sharp(await readFile(join(work, `cat.${ext}`))).metadata()
      expect(meta.format).toBe(format)
      expect(`${meta.width}x${meta.height}`).toBe('1024x1024')
      expect(run.stderr).toContain(`was converted from the PNG the model made`)
      // The stored original is kept, and named.
      const stored = /^ {2}file (\S+)$/m.exec(run.stderr)![1]!
      expect((await sharp(await readFile(stored)).metadata()).format).toBe('png')
    })
  }

  it('.png: the stored bytes as they are', async () => {
    const run = await runCli(['generate', 'a png cat', '--out', 'cat.png', '--json'], { env, cwd: work })
    expect(run.code, run.stderr).toBe(0)
    const result = JSON.parse(run.stdout)
    expect(result.outputs).toEqual([join(work, 'cat.png')])
    expect((await readFile(join(work, 'cat.png'))).equals(await readFile(result.images[0].path))).toBe(true)
    expect(run.stderr).not.toContain('converted')
  })

  it('a folder: each image under its stored name; several images to one name are numbered', async () => {
    await mkdir(join(work, 'shots'))
    const into = await runCli(['generate', 'two cats', '--model', 'cogview', '--n', '2', '--out', 'shots'], { env, cwd: work })
    expect(into.code, into.stderr).toBe(0)
    const names = (await readdir(join(work, 'shots'))).sort()
    expect(names).toHaveLength(2)
    expect(into.stdout.trim().split('\n').sort()).toEqual(names.map((name) => join(work, 'shots', name)))
    const numbered = await runCli(['generate', 'two dogs', '--model', 'cogview', '--n', '2', '--out', 'dog.webp'], { env, cwd: work })
    expect(numbered.code, numbered.stderr).toBe(0)
    expect(numbered.stdout.trim().split('\n')).toEqual([join(work, 'dog-1.webp'), join(work, 'dog-2.webp')])
    for (const name of ['dog-1.webp', 'dog-2.webp']) expect((await sharp(await readFile(join(work, name))).metadata()).format).toBe('webp')
  })

  it('a JPEG of a transparent image is flattened onto white, not black', async () => {
    // Through the proxy's own conversion module, on an image with a transparent half.
    const { writeOutputs } = await import('../server/cli/out-file.js')
    const source = join(work, 'clear.png')
    await sharp({ create: { width: 8, height: 8, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } }).png().toFile(source)
    const [written] = await writeOutputs({ kind: 'file', path: join(work, 'clear.jpg'), format: 'jpeg' }, [{ path: source, file: 'clear.png', mimeType: 'image/png' }])
    const { data } = await sharp(await readFile(written!.path)).raw().toBuffer({ resolveWithObject: true })
    expect(Math.min(...data)).toBeGreaterThan(240)
  })
})

describe('a failure after paying says what was paid and where the image is', () => {
  it('--out whose folder vanished while the image was made: exit 1, the cost, the transaction and the stored path', async () => {
    // Every sandbox answer takes 1.5 s, so the folder can go between the check and the write.
    const stack = await startStack({ sandbox: { latencyMs: 1500 } })
    try {
      const work = join(stack.home, 'work')
      await mkdir(work)
      const env = { ...process.env, BLOCKRUN_HOME: stack.home, BLOCKRUN_API_URL: stack.sandbox.url, BLOCKRUN_PROXY_PORT: '0' }
      const child = spawn(process.execPath, [CLI, 'generate', 'a cat', '--out', join(work, 'cat.png')], { env, stdio: ['ignore', 'pipe', 'pipe'] })
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (chunk) => (stdout += chunk))
      const requesting = new Promise<void>((resolve) =>
        child.stderr.on('data', (chunk) => {
          stderr += chunk
          if (stderr.includes('requesting 1 image')) resolve()
        }),
      )
      const code = new Promise<number | null>((resolve) => child.once('close', resolve))
      await requesting
      await rm(work, { recursive: true })
      expect(await code, stderr).toBe(1)
      const transfer = stack.sandbox.usdc.transfers.at(-1)!
      expect(stack.sandbox.usdc.transfers).toHaveLength(1)
      expect(stderr).toMatch(new RegExp(`error: writing --out ${work}/cat\\.png failed \\(ENOENT\\)\\. The image was paid for \\(\\$0\\.0535 USDC on eip155:84532, tx ${transfer.transaction}\\) and is saved at (\\S+)`))
      const stored = new RegExp(`is saved at (\\S+)`).exec(stderr)![1]!
      expect((await stat(stored)).size).toBeGreaterThan(0)
      expect(stdout.trim()).toBe(stored) // the path that exists, not the one that failed
      expect(transfer.amount).toBe(NANO_BANANA)
    } finally {
      await stack.close()
    }
  })

  it('the upstream failing after it settled: the error names the payment and its transaction', async () => {
    const stack = await startStack()
    try {
      const env = { BLOCKRUN_HOME: stack.home, BLOCKRUN_API_URL: stack.sandbox.url, BLOCKRUN_PROXY_PORT: '0' }
      const run = await runCli(['generate', '[fault:error-after-settle] a cat'], { env })
      expect(run.code).toBe(1)
      const transfer = stack.sandbox.usdc.transfers.at(-1)!
      expect(run.stderr).toContain(`The upstream failed (HTTP 500): Internal error while generating. For this request $0.0535 USDC on eip155:84532 was paid (tx ${transfer.transaction}); it is recorded in the ledger (imagegen usage).`)
      // Over HTTP as well, for a result that cannot be downloaded after paying.
      const { status, body } = await stack.post('/v1/images/generations', { prompt: '[fault:truncated-download] a dog' })
      expect(status).toBe(502)
      expect(body.error.message).toContain(`was paid (tx ${stack.sandbox.usdc.transfers.at(-1)!.transaction})`)
    } finally {
      await stack.close()
    }
  })
})

describe('small things a newcomer meets', () => {
  it('an unreachable upstream is named in the error, and nothing is paid', async () => {
    const stack = await startStack()
    try {
      const dead = `http://127.0.0.1:${await freePort()}/api`
      const run = await runCli(['generate', 'a cat'], { env: { BLOCKRUN_HOME: stack.home, BLOCKRUN_API_URL: dead, BLOCKRUN_PROXY_PORT: '0' } })
      expect(run.code).toBe(1)
      expect(run.stderr).toContain(`The upstream at ${dead}/v1/images/generations could not be reached (ECONNREFUSED)`)
      expect(existsSync(join(stack.home, 'ledger.jsonl'))).toBe(false) // nothing was signed
    } finally {
      await stack.close()
    }
  })

  it('another program on --port: the answer is the file, never a URL on that port', async () => {
    const stack = await startStack()
    const squatter: Server = createServer((_, response) => response.end('hello'))
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve))
    const port = (squatter.address() as AddressInfo).port
    try {
      const run = await runCli(['generate', 'a cat', '--json'], { env: { BLOCKRUN_HOME: stack.home, BLOCKRUN_API_URL: stack.sandbox.url, BLOCKRUN_PROXY_PORT: String(port) } })
      expect(run.code, run.stderr).toBe(0)
      expect(run.stderr).toContain(`another program answers on http://127.0.0.1:${port}, but it is not used`)
      const result = JSON.parse(run.stdout)
      expect(result.images[0].url).toBe(`file://${result.images[0].path}`)
      expect(`${run.stdout}${run.stderr}`).not.toContain(`127.0.0.1:${port}/images/`)
      const text = await runCli(['generate', 'a dog'], { env: { BLOCKRUN_HOME: stack.home, BLOCKRUN_API_URL: stack.sandbox.url, BLOCKRUN_PROXY_PORT: String(port) } })
      expect(text.stderr).not.toMatch(/^ {2}url /m)
    } finally {
      await new Promise((resolve) => squatter.close(resolve))
      await stack.close()
    }
  })

  it('usage says why "used" is more than "spent" when an authorization was refused', async () => {
    const stack = await startStack({ fund: '0' })
    try {
      const env = { BLOCKRUN_HOME: stack.home, BLOCKRUN_API_URL: stack.sandbox.url, BLOCKRUN_PROXY_PORT: '0' }
      const refused = await runCli(['generate', 'a cat'], { env })
      expect(refused.code).toBe(1)
      expect(refused.stderr).toContain('does not hold enough USDC')
      const usage = await runCli(['usage'], { env })
      expect(usage.code, usage.stderr).toBe(0)
      expect(usage.stdout).toContain('$0.00 in 0 payment(s)')
      expect(usage.stdout).toContain('Budget: $0.0535 of $5.00 used in the last 24 h')
      expect(usage.stdout).toContain('Used is more than spent: $0.0535 is held by 1 authorization(s) signed but not settled (refused by the upstream, failed or abandoned). Nothing was paid for them')
    } finally {
      await stack.close()
    }
  })
})
