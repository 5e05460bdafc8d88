/**
 * USDC amounts are integers of base units (6 decimals) everywhere in the core. These helpers are
 * the only place where a human figure ("$0.05") meets a bigint (50000n).
 */
export const USDC_DECIMALS = 6
const UNIT = 10n ** BigInt(USDC_DECIMALS)

/** Parses "0.05", "$0.05" or "5" (dollars) into base units. Throws on anything else. */
export function parseUsd(text: string): bigint {
  const match = /^\s*\$?\s*(\d+)(?:\.(\d{0,6}))?\s*$/.exec(text)
  if (!match) throw new Error(`not a USD amount: ${JSON.stringify(text)} (expected e.g. 0.50)`)
  const whole = BigInt(match[1]!)
  const fraction = BigInt((match[2] ?? '').padEnd(USDC_DECIMALS, '0'))
  return whole * UNIT + fraction
}

/** Formats base units as dollars, keeping every significant digit: 50000n → "$0.05", 1234n → "$0.001234". */
export function formatUsd(amount: bigint): string {
  const negative = amount < 0n
  const abs = negative ? -amount : amount
  const whole = abs / UNIT
  let fraction = (abs % UNIT).toString().padStart(USDC_DECIMALS, '0').replace(/0+$/, '')
  if (fraction.length < 2) fraction = fraction.padEnd(2, '0')
  return `${negative ? '-' : ''}$${whole}.${fraction}`
}
