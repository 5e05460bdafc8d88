/**
 * Finds the wallet's keys, reading ClawRouter's files as ClawRouter reads them (REFERENCE.md §1):
 *
 * - EVM (Base): `BLOCKRUN_WALLET_KEY` (or plugin config), then `$BLOCKRUN_HOME/wallet.key` (`0x` +
 *   64 hex + newline, mode 0600), then the key the `mnemonic` gives at `m/44'/60'/0'/0/0`, else a
 *   new key saved to `wallet.key`, but never while a `mnemonic` exists: ClawRouter refuses that
 *   too, since a new key beside a mnemonic orphans the Solana funds of whoever set it up.
 * - Solana: `BLOCKRUN_SOLANA_KEY`/`SOLANA_WALLET_KEY` (or plugin config), then the `mnemonic` at
 *   `m/44'/501'/0'/0'` (SLIP-10 ed25519). The two may come from different secrets: ClawRouter
 *   gave older installs a new mnemonic and left their `wallet.key` alone, so a `wallet.key` that
 *   is not the mnemonic's EVM key is normal and never refused.
 *
 * The key file is created exclusively, so two processes starting at once agree on one key, and
 * an existing file that does not parse is reported, never replaced.
 *
 * The key itself never leaves this module: callers get the address (derived without viem, see
 * ./address.ts) and `account()`, which builds the viem account (which holds no key field) when
 * the first payment needs it.
 */
import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { LocalAccount } from 'viem'
import { writeFileAtomic } from '../store/atomic.js'
import { addressOfKey, newPrivateKey } from './address.js'
import { deriveEd25519, deriveSecp256k1, mnemonicToSeed } from './hd.js'
import { readMnemonic, type MnemonicFile } from './mnemonic.js'
import { parseSolanaKey, solanaAddressOf } from './solana-key.js'

export type WalletSource = 'env' | 'file' | 'created' | 'mnemonic'

/** The Solana side of a wallet. */
export type SolanaAccount = {
  /** Base58 public key. */
  address: string
  source: 'env' | 'mnemonic'
  /** @solana/kit's key pair signer, built (and @solana/kit loaded) on first call. */
  signer(): Promise<import('@solana/kit').KeyPairSigner>
}

export type Wallet = {
  /** The EVM (Base) address. */
  address: `0x${string}`
  /** The signing account, built (and viem loaded) on first call. */
  account(): Promise<LocalAccount>
  source: WalletSource
  /** The key file, when the key came from or went to one (the mnemonic file when derived from it). */
  path: string | undefined
  /** The Solana account, when a Solana key or a mnemonic exists. */
  solana?: SolanaAccount | undefined
  /** Why there is no Solana account although a mnemonic file exists (it is malformed or unreadable). */
  solanaNote?: string | undefined
}

export type LoadWalletParameters = {
  home: string
  /** A key given directly (env or config); wins over the file. */
  key?: string | undefined
  /** Create a key file when none exists (default true). */
  create?: boolean
  /** A Solana secret key given directly (env or config); wins over the mnemonic. */
  solanaKey?: string | undefined
}

export class WalletKeyError extends Error {
  override name = 'WalletKeyError'
}

const KEY_PATTERN = /^0x[0-9a-fA-F]{64}$/

export function walletPath(home: string): string {
  return join(home, 'wallet.key')
}

export async function loadWallet(parameters: LoadWalletParameters): Promise<Wallet> {
  const mnemonic = await readMnemonic(parameters.home)
  const seed = mnemonic.kind === 'valid' ? mnemonicToSeed(mnemonic.mnemonic) : undefined
  const evm = await loadEvmWallet(parameters, mnemonic, seed)
  if (parameters.solanaKey !== undefined) {
    let privateKey: Buffer
    try {
      privateKey = parseSolanaKey(parameters.solanaKey, 'BLOCKRUN_SOLANA_KEY')
    } catch (error) {
      throw new WalletKeyError((error as Error).message)
    }
    return { ...evm, solana: solanaAccount(privateKey, 'env') }
  }
  if (seed) return { ...evm, solana: solanaAccount(deriveEd25519(seed), 'mnemonic') }
  if (mnemonic.kind === 'invalid') return { ...evm, solanaNote: `the mnemonic file ${mnemonic.path} is not usable: ${mnemonic.reason}` }
  return evm
}

/** The Solana account of a 32-byte private key; the key stays in this closure. */
function solanaAccount(privateKey: Buffer, source: SolanaAccount['source']): SolanaAccount {
  let signer: Promise<import('@solana/kit').KeyPairSigner> | undefined
  return {
    address: solanaAddressOf(privateKey),
    source,
    signer: () => (signer ??= import('@solana/kit').then(({ createKeyPairSignerFromPrivateKeyBytes }) => createKeyPairSignerFromPrivateKeyBytes(privateKey))),
  }
}

async function loadEvmWallet({ home, key, create = true }: LoadWalletParameters, mnemonic: MnemonicFile, seed: Buffer | undefined): Promise<Wallet> {
  /**
   * Checks the key and derives its address. Neither Node's nor viem's error for an out-of-range
   * key is passed on (viem's carries the key in decimal): no `cause` may carry it into a log.
   */
  const open = (normalised: `0x${string}`, where: string): Pick<Wallet, 'address' | 'account'> => {
    let address: `0x${string}`
    try {
      address = addressOfKey(normalised)
    } catch {
      throw new WalletKeyError(`${where} is not a usable private key (out of range for secp256k1).`)
    }
    let account: Promise<LocalAccount> | undefined
    return {
      address,
      account: () => (account ??= import('viem/accounts').then(({ privateKeyToAccount }) => privateKeyToAccount(normalised))),
    }
  }
  if (key !== undefined) {
    const normalised = normaliseKey(key)
    if (!normalised) throw new WalletKeyError('BLOCKRUN_WALLET_KEY is not a private key: expected 0x followed by 64 hex digits.')
    return { ...open(normalised, 'BLOCKRUN_WALLET_KEY'), source: 'env', path: undefined }
  }

  const path = walletPath(home)
  const existing = await readKeyFile(path)
  if (existing) return { ...existing, path }
  // ClawRouter's own installs keep both keys in the mnemonic; its EVM key is the one at m/44'/60'/0'/0/0.
  if (seed && mnemonic.kind === 'valid') {
    return { ...open(`0x${deriveSecp256k1(seed).toString('hex')}`, `The mnemonic in ${mnemonic.path}`), source: 'mnemonic', path: mnemonic.path }
  }
  if (mnemonic.kind === 'invalid') {
    throw new WalletKeyError(
      `There is no ${path}, and the mnemonic file ${mnemonic.path} is not usable (${mnemonic.reason}). No new key was created, since a new key beside a mnemonic would orphan its funds: ` +
        'fix or restore the mnemonic, or set BLOCKRUN_WALLET_KEY.',
    )
  }
  if (!create) throw new WalletKeyError(`No wallet: set BLOCKRUN_WALLET_KEY or create ${path}.`)

  const fresh = newPrivateKey()
  // The home holds the key and the ledger: private to this user when we are the ones creating it.
  await mkdir(home, { recursive: true, mode: 0o700 })
  try {
    await writeFileAtomic(path, `${fresh}\n`, { mode: 0o600, exclusive: true })
  } catch (error) {
    // Another process created it first: use theirs, so both agree on one wallet.
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    const theirs = await readKeyFile(path)
    if (!theirs) throw new WalletKeyError(`${path} appeared while creating a wallet but cannot be read.`)
    return { ...theirs, path }
  }
  return { ...open(fresh, 'The new key'), source: 'created', path }

  async function readKeyFile(file: string): Promise<Omit<Wallet, 'path'> | undefined> {
    let text: string
    try {
      text = await readFile(file, 'utf8')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw new WalletKeyError(`Cannot read the wallet file ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}.`)
    }
    const normalised = normaliseKey(text)
    if (!normalised)
      throw new WalletKeyError(
        `The wallet file ${file} is malformed: expected 0x followed by 64 hex digits. It was left untouched; fix or move it.`,
      )
    return { ...open(normalised, `The wallet file ${file}`), source: 'file' }
  }
}

function normaliseKey(text: string): `0x${string}` | undefined {
  const trimmed = text.trim()
  const withPrefix = trimmed.startsWith('0x') ? trimmed : `0x${trimmed}`
  return KEY_PATTERN.test(withPrefix) ? (withPrefix.toLowerCase() as `0x${string}`) : undefined
}
