/**
 * DNS resolution that refuses addresses the address policy forbids, used as the socket's own
 * `lookup`. Because the check runs on the very addresses the socket then connects to, a name that
 * resolves to a public address when checked and to 127.0.0.1 a moment later (DNS rebinding)
 * cannot slip through: there is no second resolution.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns'
import type { LookupFunction } from 'node:net'
import { describeClass, refusedClass, type AddressClass, type AddressPolicy } from './address-policy.js'

/** Raised (through the socket) when a host resolves to an address the policy refuses. */
export class RefusedAddressError extends Error {
  override name = 'RefusedAddressError'
  constructor(
    readonly host: string,
    readonly address: string,
    readonly addressClass: Exclude<AddressClass, 'public'>,
  ) {
    super(host === address ? `${address} is ${describeClass(addressClass)}` : `${host} resolves to ${describeClass(addressClass)} (${address})`)
  }
}

/** The refusal for a host that is itself an IP address (sockets skip `lookup` for those). */
export function checkLiteralAddress(host: string, policy: AddressPolicy): RefusedAddressError | undefined {
  const kind = refusedClass(host, policy)
  return kind ? new RefusedAddressError(host, host.replace(/^\[|\]$/g, ''), kind) : undefined
}

export function guardedLookup(policy: AddressPolicy): LookupFunction {
  return (hostname: string, options: LookupOptions, callback: (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void) => {
    dnsLookup(hostname, { family: options.family ?? 0, hints: options.hints ?? 0, all: true }, (error, addresses) => {
      if (error) return callback(error, '')
      // Every address must pass: a name that mixes public and private answers is refused.
      for (const { address } of addresses) {
        const kind = refusedClass(address, policy)
        if (kind) return callback(new RefusedAddressError(hostname, address, kind), '')
      }
      if (addresses.length === 0) return callback(Object.assign(new Error(`${hostname} has no addresses`), { code: 'ENOTFOUND' }), '')
      if (options.all) return callback(null, addresses)
      callback(null, addresses[0]!.address, addresses[0]!.family)
    })
  }
}
