/**
 * The few JSON-RPC calls the product makes to a chain, answered from the sandbox's own USDC, so
 * the product's real RPC code (viem's public client) runs against it: pointed at
 * `<sandbox origin>/rpc` (BASE_RPC_URL / BASE_SEPOLIA_RPC_URL), it reads balances and
 * authorization states as it would from Base. Solana's methods (solana-rpc.ts) share the
 * endpoint: JSON-RPC method names do not overlap.
 *
 * - `eth_chainId`: the sandbox network's chain id;
 * - `eth_getBlockByNumber`: the latest block, whose timestamp is the sandbox chain's clock;
 * - `eth_call` to the USDC contract of `balanceOf(address)` (ERC-20) and of
 *   `authorizationState(address authorizer, bytes32 nonce)` (EIP-3009: true once the nonce is used).
 *
 * @see https://eips.ethereum.org/EIPS/eip-3009
 * @see https://ethereum.org/en/developers/docs/apis/json-rpc/
 */
import type { Context } from 'hono'
import { decodeFunctionData, encodeFunctionResult, getAddress, type Hex } from 'viem'
import type { EvmNetwork } from '../payment/networks.js'
import { USDC_VIEWS } from '../payment/usdc-abi.js'
import type { SandboxUsdc } from './usdc.js'


/** A block as JSON-RPC encodes it, numbered and stamped by the clock (one block a second). */
function latestBlock() {
  const seconds = Math.floor(Date.now() / 1000)
  const hex = (n: number) => `0x${n.toString(16)}`
  const hash = `0x${seconds.toString(16).padStart(64, '0')}`
  return {
    number: hex(seconds),
    hash,
    parentHash: `0x${(seconds - 1).toString(16).padStart(64, '0')}`,
    timestamp: hex(seconds),
    nonce: '0x0000000000000000',
    difficulty: '0x0',
    gasLimit: hex(30_000_000),
    gasUsed: '0x0',
    miner: '0x0000000000000000000000000000000000000000',
    extraData: '0x',
    logsBloom: `0x${'0'.repeat(512)}`,
    transactionsRoot: `0x${'0'.repeat(64)}`,
    stateRoot: `0x${'0'.repeat(64)}`,
    receiptsRoot: `0x${'0'.repeat(64)}`,
    sha3Uncles: `0x${'0'.repeat(64)}`,
    size: '0x0',
    totalDifficulty: '0x0',
    baseFeePerGas: '0x0',
    transactions: [],
    uncles: [],
  }
}

type RpcRequest = { jsonrpc?: string; id?: unknown; method?: unknown; params?: unknown }

type SolanaMethods = Record<string, (params: unknown[]) => Promise<{ result: unknown } | { error: { code: number; message: string } }> | { result: unknown } | { error: { code: number; message: string } }>

export function rpcHandler(usdc: SandboxUsdc, network: EvmNetwork, solana: SolanaMethods = {}) {
  const answer = async (request: RpcRequest) => {
    const id = request?.id ?? null
    const fail = (code: number, message: string) => ({ jsonrpc: '2.0', id, error: { code, message } })
    const method = typeof request?.method === 'string' ? request.method : ''
    if (Object.hasOwn(solana, method)) return { jsonrpc: '2.0', id, ...(await solana[method]!(Array.isArray(request.params) ? request.params : [])) }
    if (request?.method === 'eth_chainId') return { jsonrpc: '2.0', id, result: `0x${network.chainId.toString(16)}` }
    // The latest block, for its timestamp (the chain's clock): blocks are made on demand, one a second.
    if (request?.method === 'eth_getBlockByNumber') return { jsonrpc: '2.0', id, result: latestBlock() }
    if (request?.method !== 'eth_call') return fail(-32601, `method ${String(request?.method)} is not available in the sandbox`)
    const [call] = Array.isArray(request.params) ? (request.params as Array<{ to?: string; data?: string; input?: string }>) : []
    if (!call?.to || call.to.toLowerCase() !== network.usdc.toLowerCase()) return fail(-32000, 'the sandbox only answers calls to its USDC contract')
    try {
      const decoded = decodeFunctionData({ abi: USDC_VIEWS, data: (call.data ?? call.input) as Hex })
      if (decoded.functionName === 'balanceOf') {
        return { jsonrpc: '2.0', id, result: encodeFunctionResult({ abi: USDC_VIEWS, functionName: 'balanceOf', result: usdc.balanceOf(getAddress(decoded.args[0])) }) }
      }
      const [authorizer, nonce] = decoded.args
      return { jsonrpc: '2.0', id, result: encodeFunctionResult({ abi: USDC_VIEWS, functionName: 'authorizationState', result: usdc.isNonceUsed(authorizer, nonce) }) }
    } catch {
      return fail(3, 'execution reverted')
    }
  }
  return async (c: Context) => {
    const body = (await c.req.json().catch(() => undefined)) as RpcRequest | RpcRequest[] | undefined
    if (!body) return c.json({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'parse error' } })
    return c.json(Array.isArray(body) ? await Promise.all(body.map(answer)) : await answer(body))
  }
}
