#!/usr/bin/env node
/**
 * `imagegen`: serve | generate | edit | wallet | usage | receipts | gallery | token | mcp | sandbox | demo
 * Each command is a module under ./commands exporting its flag table (`spec`) and `run`; this file
 * dispatches, prints the help (from the same tables the parser reads) and turns mistakes into exit
 * code 2 before a command runs.
 */
import module from 'node:module'
import { closest } from '../suggest.js'
import { VERSION } from '../version.js'
import { commandHelp, parseCommand, settingsSection, UsageError, wantsHelp, type CommandSpec, type Parsed } from './flags.js'
import { SETTINGS_FLAGS, SettingsError, type SettingFlagName } from './settings-flags.js'

// Node 22.1+ keeps compiled code on disk between runs: an MCP server spawned per agent session
// starts about twice as fast from the second time. Node 20 has no such cache (a no-op there).
;(module as { enableCompileCache?: () => unknown }).enableCompileCache?.()

type CommandModule = { spec: CommandSpec; run(parsed: Parsed<CommandSpec>): Promise<number | void> }

/** Every command, its one-line summary, and its module (loaded only when used). */
const COMMANDS: Record<string, { summary: string; load: () => Promise<unknown> }> = {
  serve: { summary: 'run the local proxy (OpenAI-compatible HTTP) on 127.0.0.1:8402', load: () => import('./commands/serve.js') },
  generate: { summary: 'make images from a prompt, paid from your wallet', load: () => import('./commands/generate.js') },
  edit: { summary: 'edit an image, or combine several into one, with a prompt', load: () => import('./commands/edit.js') },
  wallet: { summary: 'the paying address, network, balance and how to fund it', load: () => import('./commands/wallet.js') },
  usage: { summary: 'spend per day, model and network, and the budget left', load: () => import('./commands/usage.js') },
  receipts: { summary: 'what was made and paid: one receipt per result, as a list or CSV', load: () => import('./commands/receipts.js') },
  gallery: { summary: 'every image, what it cost and where the money went, in the browser', load: () => import('./commands/gallery.js') },
  token: { summary: "print the proxy's token, or a one-time sign-in link for a browser", load: () => import('./commands/token.js') },
  mcp: { summary: 'the MCP server on stdio, for Claude Code, Claude Desktop and other agents', load: () => import('./commands/mcp.js') },
  sandbox: { summary: 'a local BlockRun look-alike paid in test USDC, to try things for free', load: () => import('./commands/sandbox.js') },
  demo: { summary: 'one image through the whole x402 flow, offline, against the sandbox', load: () => import('./commands/demo.js') },
}

/** `imagegen --help`. */
function globalHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length)) + 3
  return [
    `imagegen ${VERSION}: image generation and editing, paid per image with x402 from your BlockRun wallet`,
    '',
    'Usage: imagegen <command> [arguments] [options]',
    '',
    'Commands:',
    ...Object.entries(COMMANDS).map(([name, { summary }]) => `  ${name.padEnd(width)}${summary}`),
    '',
    'Run `imagegen <command> --help` (or `imagegen help <command>`) for its arguments and options.',
    '',
    ...settingsSection(Object.keys(SETTINGS_FLAGS) as SettingFlagName[]),
    '',
    'Keys never come from a flag (command lines are visible to every user of the machine): the wallet key',
    'from BLOCKRUN_WALLET_KEY, $BLOCKRUN_HOME/wallet.key or $BLOCKRUN_HOME/mnemonic; the Solana key from',
    'BLOCKRUN_SOLANA_KEY (or SOLANA_WALLET_KEY) or the mnemonic.',
    '',
  ].join('\n')
}

async function loadCommand(name: string): Promise<CommandModule> {
  return (await COMMANDS[name]!.load()) as CommandModule
}

function unknownCommand(name: string): number {
  const near = closest(name, Object.keys(COMMANDS))
  process.stderr.write(`imagegen: unknown command "${name}"${near ? ` (did you mean ${near}?)` : ''}. Commands: ${Object.keys(COMMANDS).join(', ')}; \`imagegen --help\` says more.\n`)
  return 2
}

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv
  if (!name || name === '--help' || name === '-h') {
    process.stdout.write(globalHelp())
    return name ? 0 : 1
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(`${VERSION}\n`)
    return 0
  }
  if (name === 'help') {
    const topic = args[0]
    if (!topic) {
      process.stdout.write(globalHelp())
      return 0
    }
    if (!Object.hasOwn(COMMANDS, topic)) return unknownCommand(topic)
    process.stdout.write(commandHelp(topic, COMMANDS[topic]!.summary, (await loadCommand(topic)).spec))
    return 0
  }
  if (!Object.hasOwn(COMMANDS, name)) return unknownCommand(name)
  const command = await loadCommand(name)
  if (wantsHelp(args)) {
    process.stdout.write(commandHelp(name, COMMANDS[name]!.summary, command.spec))
    return 0
  }
  try {
    return (await command.run(parseCommand(name, command.spec, args))) ?? 0
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`imagegen ${name}: ${error.message}\n\`imagegen ${name} --help\` lists its arguments and options.\n`)
      return 2
    }
    if (error instanceof SettingsError) {
      process.stderr.write(`imagegen ${name}: ${error.message}\n`)
      return 2
    }
    throw error
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exitCode = code
  },
  (error: unknown) => {
    process.stderr.write(`imagegen: ${error instanceof Error ? error.message : String(error)}\n`)
    process.exitCode = 1
  },
)
