/**
 * One definition per flag, read by both the parser and the help: what a command accepts is what
 * `imagegen <command> --help` lists, with each flag's environment variable and default, so the
 * two cannot drift. Each command module exports its table (`spec`); the settings flags every
 * pipeline command shares are in ./settings-flags.ts.
 *
 * Parsing is node:util's parseArgs (strict), with its errors put in words and every value checked
 * (choices, `check`) before a command runs, so a typo is refused before anything is signed.
 */
import { parseArgs } from 'node:util'
import { closest } from '../suggest.js'
import { SETTINGS_FLAGS, type SettingFlagName } from './settings-flags.js'

export type FlagSpec = {
  type: 'string' | 'boolean'
  short?: string
  /** The flag may repeat; its values are collected in order. */
  multiple?: boolean
  /** The value's name in help, e.g. URL, USD, WxH. */
  value?: string
  /** What it does, as a sentence. */
  description: string
  /** What applies when it is absent, as help shows it. */
  default?: string
  /** Environment variables read when the flag is absent (settings flags). */
  env?: readonly string[]
  /** The only values it takes. */
  choices?: readonly string[]
  /** Checks a value: an error message, or undefined when it is fine. */
  check?: (value: string) => string | undefined
}

export type Flags = Readonly<Record<string, FlagSpec>>

export type CommandSpec = {
  /** What follows `imagegen <name>` in the usage line, e.g. `"<prompt>" [options]`. */
  usage: string
  /** Paragraphs shown under the usage line. */
  description?: readonly string[]
  /** How many positional arguments, and what is missing when there are too few (e.g. "a prompt"). */
  positionals: { min: number; max: number; missing?: string }
  flags: Flags
  /** Settings flags the command takes (./settings-flags.ts): all of them for the commands that run the pipeline. */
  settings?: 'all' | readonly SettingFlagName[]
  examples?: readonly string[]
}

type ValueOf<F extends FlagSpec> = F['type'] extends 'boolean' ? boolean : F['multiple'] extends true ? string[] : string
/** Parsed values, typed from a flag table. */
export type Values<F extends Flags> = { [K in keyof F]?: ValueOf<F[K]> }
/** What a command's `run` receives. */
export type Parsed<S extends CommandSpec> = { values: Values<S['flags']> & Values<typeof SETTINGS_FLAGS>; positionals: string[] }

/** A mistake on the command line: printed with a pointer to the help, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError'
}

/** Every flag a command takes: its own, then the settings it reads. */
export function flagsOf(spec: CommandSpec): Flags {
  const settings = spec.settings === 'all' ? (Object.keys(SETTINGS_FLAGS) as SettingFlagName[]) : (spec.settings ?? [])
  return { ...spec.flags, ...Object.fromEntries(settings.map((name) => [name, SETTINGS_FLAGS[name]])) }
}

const HELP_FLAG: FlagSpec = { type: 'boolean', short: 'h', description: 'Show this help.' }

/** True when the arguments ask for help (`--help` or `-h` as an option, before any `--`). */
export function wantsHelp(args: readonly string[]): boolean {
  for (const arg of args) {
    if (arg === '--') return false
    if (arg === '--help' || arg === '-h') return true
  }
  return false
}

/** Parses `args` against the command's flags; throws a UsageError naming the first problem. */
export function parseCommand<S extends CommandSpec>(name: string, spec: S, args: string[]): Parsed<S> {
  const flags = flagsOf(spec)
  const options = Object.fromEntries(Object.entries({ ...flags, help: HELP_FLAG }).map(([flag, f]) => [flag, { type: f.type, ...(f.short ? { short: f.short } : {}), ...(f.multiple ? { multiple: true } : {}) }]))
  let parsed: { values: Record<string, unknown>; positionals: string[]; tokens: Array<{ kind: string; name?: string; rawName?: string }> }
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true, tokens: true }) as typeof parsed
  } catch (error) {
    throw new UsageError(describeParseError(error, flags))
  }
  const seen = new Set<string>()
  for (const token of parsed.tokens) {
    if (token.kind !== 'option' || !token.name) continue
    if (seen.has(token.name) && !flags[token.name]?.multiple) throw new UsageError(`--${token.name} is given more than once`)
    seen.add(token.name)
  }
  for (const [flag, value] of Object.entries(parsed.values)) {
    const f = flags[flag]
    if (!f || typeof value === 'boolean') continue
    for (const item of Array.isArray(value) ? (value as string[]) : [value as string]) {
      if (f.choices && !f.choices.includes(item)) throw new UsageError(`--${flag} takes ${listOr(f.choices)}, not "${item}"`)
      const problem = f.check?.(item)
      if (problem) throw new UsageError(`--${flag} ${JSON.stringify(item)}: ${problem}`)
    }
  }
  const { min, max, missing } = spec.positionals
  if (parsed.positionals.length < min) throw new UsageError(`${missing ? `missing ${missing}` : 'missing arguments'}\nusage: imagegen ${name} ${spec.usage}`)
  if (parsed.positionals.length > max) {
    const extra = parsed.positionals[max]!
    const takes = max === 0 ? 'takes no arguments' : `takes at most ${max} argument${max === 1 ? '' : 's'}`
    throw new UsageError(`unexpected argument "${extra}" (imagegen ${name} ${takes})`)
  }
  return { values: parsed.values, positionals: parsed.positionals } as Parsed<S>
}

/** parseArgs's errors, in words that name the flag and what to do. */
function describeParseError(error: unknown, flags: Flags): string {
  const code = (error as { code?: string }).code
  const message = error instanceof Error ? error.message : String(error)
  const flag = /'(-{1,2}[^' ,]+)/.exec(message)?.[1]
  const names = Object.keys(flags)
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && flag) {
    const bare = flag.replace(/^-+/, '').replace(/=.*$/, '')
    const near = flag.startsWith('--') ? closest(bare, names) : undefined
    return `unknown option ${flag}${near ? ` (did you mean --${near}?)` : ''}`
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const long = /--([a-z0-9-]+)/.exec(message)?.[1]
    const f = long ? flags[long] : undefined
    if (/does not take an argument/.test(message) && long) return `--${long} takes no value`
    if (long && f) return `--${long} needs a value (--${long} ${f.value ?? 'VALUE'}); to give one that starts with a dash, write --${long}=VALUE`
  }
  return message.split('\n')[0]!
}

function listOr(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`
}

const WIDTH = 100
const LEFT = 30

/** The help of one command, from the same tables the parser reads. */
export function commandHelp(name: string, summary: string, spec: CommandSpec): string {
  const lines = [`imagegen ${name}: ${summary}`, '', `Usage: imagegen ${name} ${spec.usage}`]
  for (const paragraph of spec.description ?? []) lines.push('', ...wrap(paragraph, WIDTH, ''))
  lines.push('', 'Options:', ...Object.entries(spec.flags).flatMap(([flag, f]) => flagLines(flag, f)), ...flagLines('help', HELP_FLAG))
  const settings = Object.keys(flagsOf(spec)).filter((flag) => !(flag in spec.flags))
  if (settings.length) lines.push('', ...settingsSection(settings as SettingFlagName[]))
  if (spec.examples?.length) lines.push('', 'Examples:', ...spec.examples.map((example) => `  ${example}`))
  return `${lines.join('\n')}\n`
}

/** The settings flags in help form, under a heading that says how they combine with the environment. */
export function settingsSection(names: readonly SettingFlagName[]): string[] {
  return ['Settings (a flag wins over its environment variable, which wins over the default):', ...names.flatMap((flag) => flagLines(flag, SETTINGS_FLAGS[flag]))]
}

/** One flag: `  -m, --model NAME` and its description, environment variables and default, wrapped. */
function flagLines(flag: string, f: FlagSpec): string[] {
  const value = f.type === 'string' ? ` ${f.choices && !f.value ? f.choices.join('|') : (f.value ?? 'VALUE')}` : ''
  const left = `  ${f.short ? `-${f.short}, ` : '    '}--${flag}${value}${f.multiple ? ' ...' : ''}`
  const facts = [f.choices && f.value ? `one of ${f.choices.join(', ')}` : '', f.env?.length ? `env ${f.env.join(' or ')}` : '', f.default ? `default ${f.default}` : ''].filter(Boolean)
  const text = `${f.description}${facts.length ? ` [${facts.join('; ')}]` : ''}`
  const indent = ' '.repeat(LEFT)
  if (left.length >= LEFT - 1) return [left, ...wrap(text, WIDTH, indent)]
  const [first, ...rest] = wrap(text, WIDTH, indent)
  return [`${left.padEnd(LEFT)}${first!.slice(LEFT)}`, ...rest]
}

/** Words of `text` in lines of at most `width` characters, each starting with `indent`. */
function wrap(text: string, width: number, indent: string): string[] {
  const lines: string[] = []
  let line = indent
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line.length > indent.length && line.length + 1 + word.length > width) {
      lines.push(line)
      line = indent
    }
    line += line.length > indent.length ? ` ${word}` : word
  }
  lines.push(line)
  return lines
}

/** A `check` for whole numbers from `min` to `max`. */
export function wholeNumber(min: number, max?: number): (value: string) => string | undefined {
  return (value) => {
    const number = /^\d+$/.test(value.trim()) ? Number(value) : Number.NaN
    if (Number.isSafeInteger(number) && number >= min && (max === undefined || number <= max)) return undefined
    return max === undefined ? `expected a whole number of at least ${min}` : `expected a whole number from ${min} to ${max}`
  }
}
