/**
 * ClawRouter's `mnemonic` file: a BIP-39 phrase (mode 0600) from which it derives the Solana key
 * and, for installs it created itself, the EVM key in `wallet.key` (REFERENCE.md §1). Read as
 * ClawRouter reads it: trimmed, checked against the English wordlist and its checksum.
 *
 * Unlike ClawRouter, which ignores a malformed file with a warning, a malformed file is reported:
 * paying from a different wallet than the user funded is worse than not starting.
 *
 * @see https://github.com/bitcoin/bips/blob/master/bip-0039.mediawiki
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'

export const MNEMONIC_FILE = 'mnemonic'

export function mnemonicPath(home: string): string {
  return join(home, MNEMONIC_FILE)
}

export type MnemonicFile = { kind: 'absent' } | { kind: 'valid'; mnemonic: string; path: string } | { kind: 'invalid'; path: string; reason: string }

/** Reads `$home/mnemonic`; never returns the phrase inside an error. */
export async function readMnemonic(home: string): Promise<MnemonicFile> {
  const path = mnemonicPath(home)
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return { kind: 'absent' }
    return { kind: 'invalid', path, reason: `it cannot be read (${code ?? 'error'})` }
  }
  const mnemonic = text.trim().split(/\s+/).join(' ').normalize('NFKD')
  const { validateMnemonic } = await import('@scure/bip39')
  const { wordlist } = await import('@scure/bip39/wordlists/english')
  if (!validateMnemonic(mnemonic, wordlist)) return { kind: 'invalid', path, reason: 'it is not a valid BIP-39 English mnemonic (unknown word, wrong length or bad checksum)' }
  return { kind: 'valid', mnemonic, path }
}
