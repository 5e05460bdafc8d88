/**
 * The few Solana JSON-RPC calls the product makes, answered from the sandbox's Solana
 * (solana.ts), so the product's real RPC code (@solana/kit's client, payment/solana-rpc.ts) runs
 * against it: pointed at `<sandbox origin>/rpc` (SOLANA_DEVNET_RPC_URL), it reads the mint, a
 * blockhash, balances and transfers as it would from a cluster. Shapes follow Solana's RPC
 * reference; values are the sandbox's.
 *
 * @see https://solana.com/docs/rpc/http
 */
import type { SolanaNetwork } from '../payment/networks.js'
import { associatedTokenAddress, TOKEN_PROGRAM, type SandboxSolana } from './solana.js'

type Params = unknown[]
type Answer = { result: unknown } | { error: { code: number; message: string } }

/** An SPL Mint account (82 bytes): no mint authority, the supply, 6 decimals, initialized, no freeze authority. */
function mintAccountData(supply: bigint): string {
  const data = Buffer.alloc(82)
  data.writeBigUInt64LE(supply, 36)
  data[44] = 6
  data[45] = 1
  return data.toString('base64')
}

function tokenAmount(amount: bigint) {
  const ui = Number(amount) / 1e6
  return { amount: amount.toString(), decimals: 6, uiAmount: ui, uiAmountString: String(ui) }
}

/** The methods this sandbox answers, by name; anything else is "method not found" (-32601). */
export function solanaRpcMethods(solana: SandboxSolana, network: SolanaNetwork): Record<string, (params: Params) => Promise<Answer> | Answer> {
  const context = () => ({ slot: solana.height(), apiVersion: '2.2.0' })
  const result = (value: unknown): Answer => ({ result: value })
  return {
    getLatestBlockhash: () => {
      const latest = solana.latestBlockhash()
      return result({ context: context(), value: { blockhash: latest.blockhash, lastValidBlockHeight: latest.lastValidBlockHeight } })
    },
    isBlockhashValid: ([blockhash]) => result({ context: context(), value: typeof blockhash === 'string' && solana.isBlockhashValid(blockhash) }),
    getBlockHeight: () => result(solana.height()),
    getSlot: () => result(solana.height()),
    getAccountInfo: ([account]) => {
      if (account !== network.usdc) return result({ context: context(), value: null })
      return result({
        context: context(),
        value: { data: [mintAccountData(solana.settledTotal()), 'base64'], executable: false, lamports: 1_461_600, owner: TOKEN_PROGRAM, rentEpoch: 0, space: 82 },
      })
    },
    getBalance: () => result({ context: context(), value: 0 }),
    getTokenAccountsByOwner: async ([owner, filter]) => {
      const mint = (filter as { mint?: unknown } | undefined)?.mint
      if (typeof owner !== 'string' || mint !== network.usdc || !solana.hasAccount(owner)) return result({ context: context(), value: [] })
      const pubkey = await associatedTokenAddress(owner, network.usdc)
      return result({
        context: context(),
        value: [
          {
            pubkey,
            account: {
              data: { parsed: { info: { isNative: false, mint, owner, state: 'initialized', tokenAmount: tokenAmount(solana.balanceOf(owner)) }, type: 'account' }, program: 'spl-token', space: 165 },
              executable: false,
              lamports: 2_039_280,
              owner: TOKEN_PROGRAM,
              rentEpoch: 0,
              space: 165,
            },
          },
        ],
      })
    },
    getSignaturesForAddress: ([account, options]) => {
      const limit = Math.min(Number((options as { limit?: unknown } | undefined)?.limit ?? 1000), 1000)
      const mine = solana.transfers.filter((t) => t.from === account || t.to === account).reverse().slice(0, limit)
      return result(mine.map((t) => ({ signature: t.transaction, slot: t.slot, blockTime: Math.floor(t.time / 1000), err: null, memo: null, confirmationStatus: 'finalized' })))
    },
    getTransaction: ([signature]) => {
      const transfer = solana.transfers.find((t) => t.transaction === signature)
      if (!transfer) return result(null)
      return result({
        slot: transfer.slot,
        blockTime: Math.floor(transfer.time / 1000),
        meta: { err: null, fee: 5000, status: { Ok: null } },
        transaction: { signatures: [transfer.transaction, transfer.payerSignature], message: { accountKeys: [solana.feePayer, transfer.from] } },
        version: 0,
      })
    },
    getSignatureStatuses: ([signatures]) => {
      const list = Array.isArray(signatures) ? signatures : []
      return result({
        context: context(),
        value: list.map((signature) => {
          const transfer = solana.transfers.find((t) => t.transaction === signature)
          return transfer ? { slot: transfer.slot, confirmations: null, err: null, status: { Ok: null }, confirmationStatus: 'finalized' } : null
        }),
      })
    },
  }
}
