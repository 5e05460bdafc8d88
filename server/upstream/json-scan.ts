/**
 * An incremental JSON reader that lets chosen string values bypass memory.
 *
 * An image result is a small JSON document around one or more huge strings (base64 of tens of
 * MB). Reading it as text, parsing it and decoding it holds three or four copies at once. This
 * reader walks the text as it arrives, hands the content of each string the caller diverts (by
 * its path, e.g. `["data", 0, "b64_json"]`) to a sink chunk by chunk, and keeps everything else
 * as a "skeleton" in which each diverted string is replaced by `null`. At the end the skeleton
 * goes to JSON.parse, which does all validation: this file only has to know where strings start
 * and end and which path they sit at, which it gets right for any well-formed document.
 */

export type JsonPath = ReadonlyArray<string | number>

/** Receives the decoded content of one diverted string, in order. May throw to stop reading. */
export type StringSink = {
  write(text: string): void
  end(): void
}

export type JsonScanOptions = {
  /** Called at the start of every string value (not keys); a sink diverts it. */
  divert(path: JsonPath): StringSink | undefined
  /** Most characters the skeleton may hold; a body bigger than this outside diverted strings is refused. */
  maxSkeleton: number
}

type Frame = { kind: 'object'; key: string | undefined; expectKey: boolean } | { kind: 'array'; index: number }

const QUOTE = 0x22
const BACKSLASH = 0x5c
const SIMPLE_ESCAPES: Readonly<Record<string, string>> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' }

export class JsonSkeletonScanner {
  private readonly stack: Frame[] = []
  private mode: 'value' | 'string' | 'key' | 'diverted' = 'value'
  /** In a copied string or key: the last character was a backslash. */
  private escaped = false
  /** In a diverted string: an escape sequence cut by a chunk boundary (starts with `\`). */
  private pendingEscape = ''
  private keyRaw = ''
  private sink: StringSink | undefined
  private readonly parts: string[] = []
  private size = 0

  constructor(private readonly options: JsonScanOptions) {}

  /** Feeds the next piece of the document. */
  push(text: string): void {
    let i = 0
    let copyFrom = 0
    const n = text.length
    while (i < n) {
      if (this.mode === 'diverted') {
        i = this.divertedRun(text, i)
        copyFrom = i
        continue
      }
      if (this.mode === 'string' || this.mode === 'key') {
        const start = i
        while (i < n) {
          const c = text.charCodeAt(i++)
          if (this.escaped) this.escaped = false
          else if (c === BACKSLASH) this.escaped = true
          else if (c === QUOTE) {
            if (this.mode === 'key') this.endKey(text.slice(start, i - 1))
            this.mode = 'value'
            break
          }
        }
        if (this.mode === 'key') this.keyRaw += text.slice(start, i)
        continue
      }
      const c = text[i]!
      if (c === '"') {
        const top = this.stack[this.stack.length - 1]
        if (top?.kind === 'object' && top.expectKey) {
          this.mode = 'key'
          this.keyRaw = ''
          i++
          continue
        }
        const sink = this.options.divert(this.path())
        if (sink) {
          this.append(text.slice(copyFrom, i))
          this.append('null')
          this.sink = sink
          this.mode = 'diverted'
          this.pendingEscape = ''
          i++
          copyFrom = i
          continue
        }
        this.mode = 'string'
        i++
        continue
      }
      if (c === '{') this.stack.push({ kind: 'object', key: undefined, expectKey: true })
      else if (c === '[') this.stack.push({ kind: 'array', index: 0 })
      else if (c === '}' || c === ']') this.stack.pop()
      else if (c === ',') {
        const top = this.stack[this.stack.length - 1]
        if (top?.kind === 'array') top.index++
        else if (top) top.expectKey = true
      } else if (c === ':') {
        const top = this.stack[this.stack.length - 1]
        if (top?.kind === 'object') top.expectKey = false
      }
      i++
    }
    if (this.mode !== 'diverted') this.append(text.slice(copyFrom))
  }

  /**
   * Ends the document: returns the skeleton's value (undefined for an empty or all-blank body);
   * throws on malformed or truncated input.
   */
  finish(): unknown {
    if (this.mode !== 'value' || this.stack.length > 0) throw new SyntaxError('The JSON document ended early.')
    const text = this.parts.join('')
    return text.trim() === '' ? undefined : JSON.parse(text)
  }

  /** Passes diverted content to the sink up to the closing quote; returns where it stopped. */
  private divertedRun(text: string, from: number): number {
    const sink = this.sink!
    let i = from
    if (this.pendingEscape) {
      i = this.continueEscape(text, i)
      if (this.pendingEscape) return i
    }
    const n = text.length
    while (i < n) {
      const quote = text.indexOf('"', i)
      const slash = text.indexOf('\\', i)
      const stop = slash >= 0 && (quote < 0 || slash < quote) ? slash : quote
      if (stop < 0) {
        sink.write(i === 0 ? text : text.slice(i))
        return n
      }
      if (stop > i) sink.write(text.slice(i, stop))
      if (stop === quote) {
        this.sink = undefined
        this.mode = 'value'
        sink.end()
        return stop + 1
      }
      this.pendingEscape = '\\'
      i = this.continueEscape(text, stop + 1)
      if (this.pendingEscape) return i
    }
    return i
  }

  /** Completes `pendingEscape` from `text`, writing the character it stands for. */
  private continueEscape(text: string, from: number): number {
    let i = from
    while (i < text.length) {
      this.pendingEscape += text[i++]
      const escape = this.pendingEscape
      if (escape.length === 2) {
        const simple = SIMPLE_ESCAPES[escape[1]!]
        if (simple !== undefined) {
          this.pendingEscape = ''
          this.sink!.write(simple)
          return i
        }
        if (escape[1] !== 'u') throw new SyntaxError(`Bad escape ${escape} in a JSON string.`)
      } else if (escape.length === 6) {
        if (!/^[0-9a-fA-F]{4}$/.test(escape.slice(2))) throw new SyntaxError(`Bad escape ${escape} in a JSON string.`)
        this.pendingEscape = ''
        this.sink!.write(String.fromCharCode(Number.parseInt(escape.slice(2), 16)))
        return i
      }
    }
    return i
  }

  private endKey(tail: string): void {
    const raw = this.keyRaw + tail
    this.keyRaw = ''
    const top = this.stack[this.stack.length - 1]
    if (top?.kind !== 'object') return
    try {
      top.key = JSON.parse(`"${raw}"`) as string
    } catch {
      top.key = raw // malformed: JSON.parse of the skeleton will refuse the document anyway
    }
  }

  private path(): JsonPath {
    return this.stack.map((frame) => (frame.kind === 'array' ? frame.index : frame.key ?? ''))
  }

  private append(text: string): void {
    if (!text) return
    this.size += text.length
    if (this.size > this.options.maxSkeleton) throw new RangeError(`The JSON document has more than ${this.options.maxSkeleton} characters outside its images.`)
    this.parts.push(text)
  }
}
