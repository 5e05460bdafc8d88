/**
 * The Solana JSON-RPC calls the product makes, through @solana/kit's own RPC client (loaded on
 * first use), one client per endpoint for the life of the process, each call bounded by
 * `timeoutMs`:
 *
 * - `getAccountInfo(mint)`: the mint's token program (its owner) and decimals (byte 44 of an SPL
 *   Mint account), read once per mint per process: it is what @x402/svm's client reads for each
 *   payment to build the TransferChecked instruction;
 * - `getLatestBlockhash`: the lifetime of a payment's transaction, reused for a few seconds as
 *   BlockRun's SDK reuses it (`BLOCKHASH_TTL_MS`, 10 s; each transaction stays distinct through
 *   the scheme's random memo);
 * - `getTokenAccountsByOwner(owner, {mint}, jsonParsed)`: the USDC balance, summed over the
 *   owner's token accounts, as ClawRouter's `SolanaBalanceMonitor` reads it;
 * - `isBlockhashValid`, `getSignaturesForAddress` and `getTransaction`: whether an expired,
 *   unsettled transfer ever landed (chain-state.ts).
 *
 * @see https://solana.com/docs/rpc/http
 */
import type { SolanaNetwork } from './networks.js'

type Kit = typeof import('@solana/kit')
type Rpc = ReturnType<Kit['createSolanaRpc']>

export type MintInfo = { programAddress: string; decimals: number }
export type RecentBlockhash = { blockhash: string; lastValidBlockHeight: bigint; fetchedAt: number }

/** How long a fetched blockhash is reused for new payments (BlockRun's SDK: BLOCKHASH_TTL_MS). */
export const BLOCKHASH_REUSE_MS = 10_000
/** Byte offset of `decimals` in an SPL Mint account (COption<Pubkey> authority: 36, supply: 8). */
const MINT_DECIMALS_OFFSET = 44
const MINT_ACCOUNT_MIN_LENGTH = 82

export class SolanaRpcError extends Error {
  override name = 'SolanaRpcError'
}

export class SolanaRpc {
  private kit: Promise<Kit> | undefined
  private readonly clients = new Map<string, Rpc>()
  private readonly mints = new Map<string, Promise<MintInfo>>()
  private readonly blockhashes = new Map<string, RecentBlockhash>()

  constructor(
    /** The endpoint for a network (settings: SOLANA_RPC_URL, SOLANA_DEVNET_RPC_URL). */
    readonly urlFor: (network: SolanaNetwork) => string,
    readonly timeoutMs = 3000,
  ) {}

  /** The mint's token program and decimals; a failed read is not remembered. */
  mint(network: SolanaNetwork, mint: string): Promise<MintInfo> {
    const key = `${this.urlFor(network)} ${mint}`
    let info = this.mints.get(key)
    if (!info) {
      info = this.call(network, `read the mint ${mint}`, async (rpc, kit, abortSignal) => {
        const { value } = await rpc.getAccountInfo(kit.address(mint), { encoding: 'base64' }).send({ abortSignal })
        const data = value ? Buffer.from(value.data[0], 'base64') : undefined
        if (!value || !data || data.length < MINT_ACCOUNT_MIN_LENGTH) throw new SolanaRpcError(`${mint} is not a token mint on ${network.label}`)
        return { programAddress: String(value.owner), decimals: data[MINT_DECIMALS_OFFSET]! }
      })
      this.mints.set(key, info)
      info.catch(() => this.mints.delete(key))
    }
    return info
  }

  /** A recent blockhash: the cached one while younger than BLOCKHASH_REUSE_MS, unless `fresh`. */
  async latestBlockhash(network: SolanaNetwork, fresh = false): Promise<RecentBlockhash> {
    const url = this.urlFor(network)
    const cached = this.blockhashes.get(url)
    if (!fresh && cached && Date.now() - cached.fetchedAt < BLOCKHASH_REUSE_MS) return cached
    const latest = await this.call(network, 'read a recent blockhash', async (rpc, _kit, abortSignal) => {
      const { value } = await rpc.getLatestBlockhash({ commitment: 'confirmed' }).send({ abortSignal })
      return { blockhash: String(value.blockhash), lastValidBlockHeight: BigInt(value.lastValidBlockHeight), fetchedAt: Date.now() }
    })
    this.blockhashes.set(url, latest)
    return latest
  }

  /** The owner's balance of `network`'s USDC, base units. */
  usdcBalance(network: SolanaNetwork, owner: string): Promise<bigint> {
    return this.call(network, 'read the USDC balance', async (rpc, kit, abortSignal) => {
      const { value } = await rpc.getTokenAccountsByOwner(kit.address(owner), { mint: kit.address(network.usdc) }, { encoding: 'jsonParsed' }).send({ abortSignal })
      let total = 0n
      for (const account of value) {
        const amount = (account.account.data as { parsed?: { info?: { tokenAmount?: { amount?: string } } } }).parsed?.info?.tokenAmount?.amount
        if (typeof amount === 'string' && /^\d+$/.test(amount)) total += BigInt(amount)
      }
      return total
    })
  }

  /**
   * Whether a transfer `owner` signed (its signature `signature`, with `blockhash`) landed: true
   * when a transaction carrying that signature is on the chain, false when the blockhash has
   * expired and none of `owner`'s transactions since `since` (epoch seconds) carries it,
   * undefined when the chain cannot say yet (the blockhash is still valid, or too many
   * transactions to look through).
   */
  transferLanded(network: SolanaNetwork, owner: string, signature: string, blockhash: string, since: number, maxTransactions = 25): Promise<boolean | undefined> {
    return this.call(network, 'read a transfer', async (rpc, kit, abortSignal) => {
      const { value: valid } = await rpc.isBlockhashValid(kit.blockhash(blockhash), { commitment: 'confirmed' }).send({ abortSignal })
      if (valid) return undefined
      const recent = await rpc.getSignaturesForAddress(kit.address(owner), { limit: maxTransactions, commitment: 'confirmed' }).send({ abortSignal })
      let reachedSince = false
      for (const entry of recent) {
        // Newest first: a transaction from before the signing cannot carry it.
        if (entry.blockTime !== null && Number(entry.blockTime) < since) {
          reachedSince = true
          break
        }
        const transaction = await rpc.getTransaction(entry.signature, { encoding: 'json', maxSupportedTransactionVersion: 0, commitment: 'confirmed' }).send({ abortSignal })
        if (transaction?.transaction.signatures.some((s) => String(s) === signature)) return true
      }
      return reachedSince || recent.length < maxTransactions ? false : undefined
    })
  }

  /** Runs `body` against the endpoint's client within the time bound; errors name the endpoint's network, never a key. */
  private async call<T>(network: SolanaNetwork, what: string, body: (rpc: Rpc, kit: Kit, abortSignal: AbortSignal) => Promise<T>): Promise<T> {
    const kit = await (this.kit ??= import('@solana/kit'))
    const url = this.urlFor(network)
    let rpc = this.clients.get(url)
    if (!rpc) {
      rpc = kit.createSolanaRpc(url)
      this.clients.set(url, rpc)
    }
    try {
      return await body(rpc, kit, AbortSignal.timeout(this.timeoutMs))
    } catch (error) {
      if (error instanceof SolanaRpcError) throw error
      throw new SolanaRpcError(`Could not ${what} on ${network.label} through ${url} within ${this.timeoutMs} ms (set SOLANA_RPC_URL to use another endpoint).`, { cause: error })
    }
  }
}
