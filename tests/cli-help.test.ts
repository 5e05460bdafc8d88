/**
 * The command line's help and its refusals, through the built CLI as a child process: every
 * command answers --help, -h and `imagegen help <command>` with the same text, listing every flag
 * its parser takes with the flag's environment variables and default; README.md shows the real
 * `imagegen --help`; and every mistake is refused with exit code 2 before anything is signed.
 * Needs `npm run build` first.
 */
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { flagsOf, parseCommand, UsageError, type CommandSpec } from '../server/cli/flags.js'
import { SETTINGS_FLAGS } from '../server/cli/settings-flags.js'
import { CLI, runCli } from './helpers/processes.js'
import { startCliStack, type Stack } from './helpers/stack.js'

import { spec as demo } from '../server/cli/commands/demo.js'
import { spec as edit } from '../server/cli/commands/edit.js'
import { spec as gallery } from '../server/cli/commands/gallery.js'
import { spec as generate } from '../server/cli/commands/generate.js'
import { spec as mcp } from '../server/cli/commands/mcp.js'
import { spec as receipts } from '../server/cli/commands/receipts.js'
import { spec as sandbox } from '../server/cli/commands/sandbox.js'
import { spec as serve } from '../server/cli/commands/serve.js'
import { spec as token } from '../server/cli/commands/token.js'
import { spec as usage } from '../server/cli/commands/usage.js'
import { spec as wallet } from '../server/cli/commands/wallet.js'

const SPECS: Record<string, CommandSpec> = { serve, generate, edit, wallet, usage, receipts, gallery, token, mcp, sandbox, demo }
const COMMANDS = Object.keys(SPECS)

describe('help', () => {
  beforeAll(() => {
    expect(existsSync(CLI), `${CLI} is missing: run npm run build`).toBe(true)
  })

  it('README.md shows exactly what `imagegen --help` prints; `imagegen help` prints the same', async () => {
    const readme = await readFile(join(import.meta.dirname, '..', 'README.md'), 'utf8')
    const block = /<!-- imagegen --help -->\n```text\n([\s\S]*?)\n```\n<!-- \/imagegen --help -->/.exec(readme)?.[1]
    expect(block, 'README.md has the marked imagegen --help block').toBeDefined()
    const help = await runCli(['--help'])
    expect(help.code).toBe(0)
    expect(help.stdout.trimEnd()).toBe(block)
    expect((await runCli(['help'])).stdout).toBe(help.stdout)
    expect((await runCli(['-h'])).stdout).toBe(help.stdout)
    // Every command is listed, and every settings flag with its variables.
    for (const name of COMMANDS) expect(help.stdout).toMatch(new RegExp(`^  ${name} +\\S`, 'm'))
    for (const [flag, spec] of Object.entries(SETTINGS_FLAGS)) {
      expect(help.stdout).toContain(`--${flag}`)
      for (const variable of spec.env ?? []) expect(help.stdout.replace(/\s+/g, ' ')).toContain(variable)
    }
  })

  for (const name of COMMANDS) {
    it(`${name}: --help, -h and \`imagegen help ${name}\` agree, exit 0, and list every flag the parser takes with its variables and default`, async () => {
      const [long, short, topic] = await Promise.all([runCli([name, '--help'], { timeoutMs: 15_000 }), runCli([name, '-h'], { timeoutMs: 15_000 }), runCli(['help', name], { timeoutMs: 15_000 })])
      expect(long.code, long.stderr).toBe(0)
      expect(short).toEqual(long)
      expect(topic).toEqual(long)
      expect(long.stdout).toMatch(new RegExp(`^Usage: imagegen ${name} `, 'm'))
      const spec = SPECS[name]!
      const flags = flagsOf(spec)
      const text = long.stdout.replace(/\s+/g, ' ')
      for (const [flag, f] of Object.entries(flags)) {
        expect(long.stdout, `--${flag}`).toMatch(new RegExp(`(^|\\s)--${flag}(\\s|$)`, 'm'))
        for (const variable of f.env ?? []) expect(text, `${flag}'s variable ${variable}`).toContain(variable)
        if (f.default) expect(text, `${flag}'s default`).toContain(`default ${f.default.replace(/\s+/g, ' ')}`)
        if (f.short) expect(long.stdout).toContain(`-${f.short}, --${flag}`)
      }
      // And the other way: every flag the help lists is one the parser takes (no stale line).
      const listed = [...long.stdout.matchAll(/^ {2}(?:-\w, | {4})--([a-z0-9-]+)/gm)].map((m) => m[1]!)
      expect(listed.sort()).toEqual([...Object.keys(flags), 'help'].sort())
      for (const flag of Object.keys(flags)) {
        const f = flags[flag]!
        const args = f.type === 'boolean' ? [`--${flag}`] : [`--${flag}=${f.choices?.[0] ?? 'x'}`]
        try {
          parseCommand(name, spec, [...args, 'a', 'b'].slice(0, args.length + Math.min(spec.positionals.max, 2)))
        } catch (error) {
          // A value check may refuse "x"; the flag itself must be known.
          expect(error).toBeInstanceOf(UsageError)
          expect((error as Error).message).not.toMatch(/unknown option/)
        }
      }
    })
  }

  it('`imagegen mcp --help` prints help and exits instead of starting the server', async () => {
    const run = await runCli(['mcp', '--help'], { timeoutMs: 10_000 })
    expect(run.code).toBe(0)
    expect(run.stdout).toContain('Usage: imagegen mcp')
    expect(run.stderr).not.toContain('MCP server ready')
  })

  it('generate --help documents the flags that were undocumented: --json, --port, --upstream, -m, -s', async () => {
    const { stdout } = await runCli(['generate', '--help'])
    for (const text of ['--json', '--port PORT', '--upstream URL', '-m, --model', '-s, --size', 'BLOCKRUN_API_URL', 'default 8402']) expect(stdout).toContain(text)
    const editHelp = (await runCli(['edit', '--help'])).stdout.replace(/\s+/g, ' ')
    for (const text of ['--json', '-m, --model MODEL', '--upstream URL', '-i, --image IMAGE ...', 'default openai/gpt-image-1']) expect(editHelp).toContain(text)
  })
})

describe('mistakes are refused with exit code 2, before anything is signed', () => {
  let stack: Stack
  let env: Record<string, string>
  let work: string

  beforeAll(async () => {
    ;({ stack, work, env } = await startCliStack())
  })
  afterAll(async () => stack.close())

  const CASES: Array<{ args: string[]; says: RegExp; env?: Record<string, string> }> = [
    { args: ['generate', 'a cat', '--modle', 'nano-banana'], says: /^imagegen generate: unknown option --modle \(did you mean --model\?\)$/m },
    { args: ['generate', 'a cat', '--n', '0'], says: /--n "0": expected a whole number from 1 to 10/ },
    { args: ['generate', 'a cat', '--n', 'two'], says: /--n "two": expected a whole number/ },
    { args: ['generate', 'a cat', '--model', 'cogview', '--model', 'gpt-image'], says: /--model is given more than once/ },
    { args: ['generate', 'a cat', '--quality', 'ultra'], says: /--quality takes standard, hd, low, medium, high or auto, not "ultra"/ },
    { args: ['generate', 'a cat', '--size', 'big'], says: /--size "big": expected WIDTHxHEIGHT/ },
    { args: ['generate', 'a cat', '--aspect-ratio', 'tall'], says: /--aspect-ratio "tall": expected square, portrait, landscape/ },
    { args: ['generate', 'a cat', '--json=yes'], says: /--json takes no value/ },
    { args: ['generate', 'a cat', '--model'], says: /--model needs a value \(--model MODEL\)/ },
    { args: ['generate', 'a cat', '--out', 'missing/folder/cat.png'], says: /--out missing\/folder\/cat\.png: the folder .*missing\/folder does not exist \(nothing was paid\)/ },
    { args: ['generate', 'a cat', '--out', 'cat.bmp'], says: /--out cat\.bmp: \.bmp is not a format imagegen writes; use \.png, \.jpg, \.jpeg, \.webp, \.avif, or an existing folder/ },
    { args: ['generate', 'a cat', '--out', 'cat'], says: /--out cat: the name has no extension to say the format/ },
    { args: ['generate'], says: /imagegen generate: missing the prompt\nusage: imagegen generate "<prompt>" \[options\]/ },
    { args: ['edit', 'photo.png'], says: /missing the image and the prompt\nusage: imagegen edit/ },
    { args: ['generate', 'a cat', '--max-per-request', 'lots'], says: /max per request: expected a dollar amount such as 0\.50, got "lots" \(from --max-per-request\)/ },
    { args: ['generate', 'a cat'], env: { BLOCKRUN_DAILY_BUDGET: 'plenty' }, says: /daily budget: expected a dollar amount such as 0\.50, got "plenty" \(from BLOCKRUN_DAILY_BUDGET\)/ },
    { args: ['wallet', 'extra-arg'], says: /unexpected argument "extra-arg" \(imagegen wallet takes no arguments\)/ },
    { args: ['wallet'], env: { BLOCKRUN_API_URL: 'notaurl' }, says: /upstream: "notaurl" is not an http\(s\) URL.*\(from BLOCKRUN_API_URL\)/ },
    { args: ['usage', '--days', '0'], says: /--days "0": expected a whole number from 1/ },
    { args: ['token', '--next', '/images/x.png'], says: /--next goes with --browser/ },
    { args: ['mcp', '--bogus'], says: /imagegen mcp: unknown option --bogus/ },
    { args: ['sandbox', '--x402', 'v3'], says: /--x402 takes v1 or v2, not "v3"/ },
    { args: ['sandbox', '--latency', 'abc'], says: /--latency "abc": expected a whole number/ },
    { args: ['sandbox', '--fund', '0x1234=5'], says: /--fund "0x1234=5": expected ADDRESS or ADDRESS=USD/ },
    { args: ['sandbox', '--chain', 'ethereum'], says: /--chain takes base or solana, not "ethereum"/ },
    { args: ['serve', '--upstream', 'notaurl'], says: /upstream: "notaurl" is not an http\(s\) URL.*\(from --upstream\)/ },
    { args: ['serve', '--rpc-url', 'mainnet.base.org'], says: /Base RPC URL: "mainnet\.base\.org" is not an http\(s\) URL/ },
    { args: ['demo', '--keep', '--once'], says: /--keep and --once contradict each other/ },
    { args: ['genrate', 'a cat'], says: /unknown command "genrate" \(did you mean generate\?\)/ },
  ]

  for (const { args, says, env: extra } of CASES) {
    it(`imagegen ${args.join(' ')}${extra ? ` with ${Object.keys(extra).join(', ')}` : ''}`, async () => {
      const before = { requests: stack.sandbox.counters.imageRequests, ledger: existsSync(join(stack.home, 'ledger.jsonl')) }
      const run = await runCli(args, { env: { ...env, ...extra }, cwd: work, timeoutMs: 20_000 })
      expect(run.code, run.stderr).toBe(2)
      expect(run.stderr).toMatch(says)
      expect(run.stdout).toBe('')
      expect(stack.sandbox.counters.imageRequests).toBe(before.requests)
      expect(existsSync(join(stack.home, 'ledger.jsonl'))).toBe(before.ledger)
    })
  }

  it('a mistake points at the command\'s help', async () => {
    const run = await runCli(['generate', 'x', '--bogus'], { env })
    expect(run.stderr).toContain('`imagegen generate --help` lists its arguments and options.')
  })

  it('n above the model\'s limit is refused before paying, naming the model', async () => {
    const before = stack.sandbox.counters.imageRequests
    const run = await runCli(['generate', 'a cat', '--model', 'cogview', '--n', '5'], { env, cwd: work })
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('zai/cogview-4 makes at most 4 images per request (n = 5 was asked)')
    expect(stack.sandbox.counters.imageRequests).toBe(before)
  })
})
