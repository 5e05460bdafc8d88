/**
 * Base64 decoding in pieces, for image data that arrives a network chunk at a time.
 *
 * Gives exactly the bytes `Buffer.from(whole, 'base64')` would for well-formed input (standard or
 * URL-safe alphabet, padded or not, with line breaks or spaces anywhere): characters outside the
 * alphabet are dropped, the rest is decoded in groups of four, and a partial group waits for the
 * next piece. The common case (a run of pure alphabet) is checked by the decoded length alone,
 * with no scan in JavaScript: Node skips foreign characters, so a short result means some were
 * there and only then is the piece cleaned and decoded again.
 */
const OUTSIDE_ALPHABET = /[^A-Za-z0-9+/_-]/
const OUTSIDE_ALPHABET_ALL = /[^A-Za-z0-9+/_-]+/g

export class Base64Decoder {
  private carry = ''

  constructor(private readonly emit: (bytes: Buffer) => void) {}

  write(text: string): void {
    let joined = this.carry + text
    // Padding ends the data: dropped here (the tail is decoded by `end`), so the last piece of a
    // padded string stays on the fast path instead of a regex pass over the whole piece.
    let end = joined.length
    while (end > 0 && joined.charCodeAt(end - 1) === 0x3d) end--
    if (end < joined.length) joined = joined.slice(0, end)
    const whole = joined.length - (joined.length % 4)
    if (whole > 0) {
      const bytes = Buffer.from(whole === joined.length ? joined : joined.slice(0, whole), 'base64')
      if (bytes.length === (whole / 4) * 3) {
        this.emit(bytes)
        this.carry = joined.slice(whole)
        return
      }
    }
    const clean = OUTSIDE_ALPHABET.test(joined) ? joined.replace(OUTSIDE_ALPHABET_ALL, '') : joined
    const cleanWhole = clean.length - (clean.length % 4)
    if (cleanWhole > 0) this.emit(Buffer.from(clean.slice(0, cleanWhole), 'base64'))
    this.carry = clean.slice(cleanWhole)
  }

  end(): void {
    // Two or three characters left encode one or two bytes (unpadded input); one alone encodes none.
    if (this.carry.length > 1) this.emit(Buffer.from(this.carry, 'base64'))
    this.carry = ''
  }
}
