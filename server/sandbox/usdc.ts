/**
 * The sandbox's USDC: balances, used EIP-3009 nonces and settled transfers, in memory. It stands in
 * for the token contract, so the facilitator's balance and replay checks are real checks.
 */
import { randomBytes } from 'node:crypto'

export type Transfer = {
  transaction: `0x${string}`
  from: string
  to: string
  amount: bigint
  nonce: string
  network: string
  time: number
}

export class SandboxUsdc {
  private readonly balances = new Map<string, bigint>()
  private readonly usedNonces = new Set<string>()
  readonly transfers: Transfer[] = []

  fund(address: string, amount: bigint): void {
    const key = address.toLowerCase()
    this.balances.set(key, (this.balances.get(key) ?? 0n) + amount)
  }

  balanceOf(address: string): bigint {
    return this.balances.get(address.toLowerCase()) ?? 0n
  }

  isNonceUsed(from: string, nonce: string): boolean {
    return this.usedNonces.has(`${from.toLowerCase()}:${nonce.toLowerCase()}`)
  }

  /** Moves funds and burns the nonce, all at once (no await between check and debit). */
  transfer(from: string, to: string, amount: bigint, nonce: string, network: string): Transfer | 'insufficient_funds' | 'nonce_used' {
    if (this.isNonceUsed(from, nonce)) return 'nonce_used'
    if (this.balanceOf(from) < amount) return 'insufficient_funds'
    this.usedNonces.add(`${from.toLowerCase()}:${nonce.toLowerCase()}`)
    this.balances.set(from.toLowerCase(), this.balanceOf(from) - amount)
    this.fund(to, amount)
    const transfer: Transfer = { transaction: `0x${randomBytes(32).toString('hex')}`, from, to, amount, nonce, network, time: Date.now() }
    this.transfers.push(transfer)
    return transfer
  }

  settledTotal(): bigint {
    return this.transfers.reduce((sum, t) => sum + t.amount, 0n)
  }
}
