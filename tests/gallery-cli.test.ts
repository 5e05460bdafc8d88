/**
 * `imagegen gallery` through the built CLI: it prints the gallery's address of a proxy of ours
 * (and opens it with the user's browser), runs the proxy itself when none is up, and refuses a
 * port it cannot serve on.
 */
import { spawn } from 'node:child_process'
import { chmod, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CLI, freePort, runCli, spawnProxy, type ProxyProcess } from './helpers/processes.js'
import { tempHome } from './helpers/stack.js'

describe('imagegen gallery', () => {
  let home: string
  beforeAll(async () => {
    home = await tempHome('imagegen-gallery-cli-')
  })
  afterAll(() => rm(home, { recursive: true, force: true }))

  it("prints the address of the proxy of ours on the port, and opens it with the user's browser", async () => {
    let proxy: ProxyProcess | undefined
    try {
      proxy = await spawnProxy({ home })
      const opened = join(home, 'opened.txt')
      const browser = join(home, 'browser.sh')
      await writeFile(browser, `#!/bin/sh\necho "$1" > ${opened}\n`)
      await chmod(browser, 0o755)
      const run = await runCli(['gallery', '--port', String(proxy.port), '--home', home], { env: { BROWSER: browser } })
      expect(run.code, run.stderr).toBe(0)
      expect(run.stdout).toBe(`${proxy.url}/\n`)
      expect(run.stderr).toContain('opened in your browser')
      await expect.poll(() => readFile(opened, 'utf8').catch(() => '')).toBe(`${proxy.url}/\n`)
      // Nowhere to open it: said, not failed.
      const bare = await runCli(['gallery', '--port', String(proxy.port), '--home', home], { env: { BROWSER: 'none' } })
      expect(bare.code).toBe(0)
      expect(bare.stderr).toContain('no browser here to open it in')
    } finally {
      await proxy?.stop()
    }
  })

  it('runs the proxy itself when none is up, serving the gallery until SIGTERM', async () => {
    const port = await freePort()
    const child = spawn(process.execPath, [CLI, 'gallery', '--no-open', '--port', String(port), '--home', home], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (chunk) => (out += chunk))
    child.stderr.on('data', (chunk) => (out += chunk))
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
    const deadline = Date.now() + 30_000
    while (!out.includes('until Ctrl-C') && child.exitCode === null && Date.now() < deadline) await sleep(50)
    expect(out).toContain(`http://127.0.0.1:${port}/\n`)
    expect(out).toContain(`No proxy of ours was running on port ${port}`)
    const page = await fetch(`http://127.0.0.1:${port}/`)
    expect(page.status).toBe(200)
    expect(await page.text()).toContain('imagegen gallery')
    expect((await (await fetch(`http://127.0.0.1:${port}/v1/gallery`)).json()) as any).toMatchObject({ object: 'list', total: 0 })
    child.kill('SIGTERM')
    expect(await exited).toBe(0)
  })

  it('refuses port 0, and a port another program holds', async () => {
    const zero = await runCli(['gallery', '--port', '0', '--home', home])
    expect(zero.code).toBe(2)
    expect(zero.stderr).toContain('--port 0')
    const squatter = createServer((_, res) => res.end('{"status":"ok"}'))
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve))
    try {
      const { port } = squatter.address() as { port: number }
      const run = await runCli(['gallery', '--no-open', '--port', String(port), '--home', home])
      expect(run.code).toBe(1)
      expect(run.stderr).toContain(`another program holds port ${port}`)
      expect(run.stdout).toBe('')
    } finally {
      squatter.close()
    }
  })
})
