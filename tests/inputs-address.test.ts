import { describe, expect, it } from 'vitest'
import { classifyAddress, refusedClass } from '../server/inputs/address-policy.js'

describe('address policy', () => {
  const cases: Array<[string, ReturnType<typeof classifyAddress>]> = [
    ['8.8.8.8', 'public'],
    ['1.1.1.1', 'public'],
    ['2606:4700:4700::1111', 'public'],
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['::1', 'loopback'],
    ['[::1]', 'loopback'],
    ['0.0.0.0', 'reserved'],
    ['::', 'reserved'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['172.32.0.1', 'public'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'private'],
    ['fd12:3456::1', 'private'],
    ['169.254.10.10', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['169.254.169.254', 'metadata'],
    ['168.63.129.16', 'metadata'],
    ['100.100.100.200', 'metadata'],
    ['fd00:ec2::254', 'metadata'],
    ['224.0.0.1', 'reserved'],
    ['255.255.255.255', 'reserved'],
    ['ff02::1', 'reserved'],
    // IPv4 inside IPv6 is judged by the IPv4 address.
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['::ffff:8.8.8.8', 'public'],
    ['64:ff9b::10.0.0.1', 'private'],
    ['2002:c0a8:0101::1', 'private'],
    ['not an address', 'reserved'],
  ]
  for (const [address, expected] of cases) it(`${address} is ${expected}`, () => expect(classifyAddress(address)).toBe(expected))

  it('allowPrivate lets loopback and private through, never link-local, metadata or reserved', () => {
    const open = { allowPrivate: true }
    const closed = { allowPrivate: false }
    expect(refusedClass('127.0.0.1', closed)).toBe('loopback')
    expect(refusedClass('127.0.0.1', open)).toBeUndefined()
    expect(refusedClass('192.168.0.10', open)).toBeUndefined()
    expect(refusedClass('169.254.169.254', open)).toBe('metadata')
    expect(refusedClass('169.254.1.1', open)).toBe('link-local')
    expect(refusedClass('0.0.0.0', open)).toBe('reserved')
    expect(refusedClass('93.184.216.34', closed)).toBeUndefined()
  })
})
