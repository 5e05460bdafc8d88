/**
 * EIP-712 signing with each domain's separator hashed once. An x402 payment signs the same USDC
 * domain every time, and hashing it (type string, name, version, address) was half the cost of
 * building the digest. Everything else is viem's own code: its validation, its struct hashing and
 * the account's raw-hash signature, so the result is the signature `account.signTypedData` gives
 * (tests/typed-data-signer.test.ts checks they are identical).
 *
 * @see https://eips.ethereum.org/EIPS/eip-712
 */
import { concat, getTypesForEIP712Domain, hashDomain, hashStruct, keccak256, validateTypedData, type Hex, type LocalAccount, type TypedDataDomain } from 'viem'

/** Typed data as the x402 scheme hands it to a signer. */
export type TypedDataInput = { domain?: TypedDataDomain; types: Record<string, unknown>; primaryType: string; message: Record<string, unknown> }

/** Separators by domain; a wallet pays on one or two networks, so this stays tiny. */
const separators = new Map<string, Hex>()
const MAX_DOMAINS = 32

export async function signTypedDataCachingDomain(account: LocalAccount, parameters: TypedDataInput): Promise<Hex> {
  const { domain = {}, message, primaryType } = parameters
  // The separator is derived from the domain's own fields; a caller-given EIP712Domain type is viem's business.
  if (!account.sign || primaryType === 'EIP712Domain' || 'EIP712Domain' in parameters.types) return account.signTypedData(parameters as never)
  const types = { EIP712Domain: getTypesForEIP712Domain({ domain }), ...parameters.types }
  validateTypedData({ domain, message, primaryType, types } as never)
  const key = JSON.stringify(domain, (_name, value: unknown) => (typeof value === 'bigint' ? `${value}n` : value))
  let separator = separators.get(key)
  if (!separator) {
    if (separators.size >= MAX_DOMAINS) separators.clear()
    separator = hashDomain({ domain, types } as never)
    separators.set(key, separator)
  }
  const hash = keccak256(concat(['0x1901', separator, hashStruct({ data: message, primaryType, types } as never)]))
  return account.sign({ hash })
}
