/**
 * The few JSON-RPC calls the product makes to a chain, answered from the sandbox's own USDC, so
 * the product's real RPC code (viem's public client) runs against it: pointed at
 * `<sandbox origin>/rpc` (BASE_RPC_URL / BASE_SEPOLIA_RPC_URL), it reads balances and
 * authorization states as it would from Base. Solana's methods (solana-rpc.ts) share the
 * endpoint: JSON-RPC method names do not overlap.
 *
 * - `eth_chainId`: the sandbox network's chain id;
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


type RpcRequest = { jsonrpc?: string; id?: unknown; method?: unknown; params?: unknown }

type SolanaMethods = Record<string, (params: unknown[]) => Promise<{ result: unknown } | { error: { code: number; message: string } }> | { result: unknown } | { error: { code: number; message: string } }>

export function rpcHandler(usdc: SandboxUsdc, network: EvmNetwork, solana: SolanaMethods = {}) {
  const answer = async (request: RpcRequest) => {
    const id = request?.id ?? null
    const fail = (code: number, message: string) => ({ jsonrpc: '2.0', id, error: { code, message } })
    const method = typeof request?.method === 'string' ? request.method : ''
    if (Object.hasOwn(solana, method)) return { jsonrpc: '2.0', id, ...(await solana[method]!(Array.isArray(request.params) ? request.params : [])) }
    if (request?.method === 'eth_chainId') return { jsonrpc: '2.0', id, result: `0x${network.chainId.toString(16)}` }
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
