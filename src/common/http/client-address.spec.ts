import { describe, expect, it } from 'vitest';
import type { Request } from 'express';
import { addressBucket, canonicalAddress, clientAddress, clientBucket } from './client-address.js';

describe(addressBucket.name, () => {
  it('should keep an IPv4 address as it is, also when mapped into IPv6', () => {
    expect(addressBucket('203.0.113.7')).toBe('203.0.113.7');
    expect(addressBucket('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(addressBucket('::FFFF:cb00:7107')).toBe('203.0.113.7');
  });

  it('should put every address of one IPv6 /64 in one bucket, however it is written', () => {
    const bucket = '2001:db8:a:b::/64';
    for (const address of [
      '2001:db8:a:b::1',
      '2001:0db8:000a:000b:ffff:1:2:3',
      '2001:DB8:A:B:0:0:0:9',
      '2001:db8:a:b::1.2.3.4',
    ]) {
      expect(addressBucket(address)).toBe(bucket);
    }
    expect(addressBucket('2001:db8:a:c::1')).not.toBe(bucket);
    expect(addressBucket('::1')).toBe('0:0:0:0::/64');
    expect(addressBucket('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
  });

  it('should leave what is not an address alone', () => {
    expect(addressBucket('unknown')).toBe('unknown');
  });

  it('should answer each address its own bucket, whatever came before it', () => {
    for (let round = 0; round < 2; round++) {
      expect(addressBucket('2001:db8:a:b::1')).toBe('2001:db8:a:b::/64');
      expect(addressBucket('2001:db8:a:b::1')).toBe('2001:db8:a:b::/64');
      expect(addressBucket('198.51.100.4')).toBe('198.51.100.4');
      expect(addressBucket('::ffff:198.51.100.5')).toBe('198.51.100.5');
    }
  });
});

/** A request whose `ip` (Express works it out on every read) counts its reads. */
function countingReads(ip: string, remoteAddress?: string): { request: Request; reads: () => number } {
  let reads = 0;
  const request = {
    socket: { remoteAddress },
    get ip() {
      reads += 1;
      return ip;
    },
  } as unknown as Request;
  return { request, reads: () => reads };
}

describe(clientAddress.name, () => {
  it('should work the address out once per request, whoever asks', () => {
    const { request, reads } = countingReads('192.0.2.9', '::ffff:192.0.2.9');
    expect([clientAddress(request), clientAddress(request), clientAddress(request)]).toEqual([
      '192.0.2.9',
      '192.0.2.9',
      '192.0.2.9',
    ]);
    expect(reads()).toBe(1);
    // Another request from elsewhere gets its own.
    expect(clientAddress(countingReads('203.0.113.1').request)).toBe('203.0.113.1');
  });
});

describe(clientBucket.name, () => {
  it('should be the bucket of the client address, worked out once per request', () => {
    const { request, reads } = countingReads('2001:db8:a:b::7');
    expect([clientBucket(request), clientBucket(request), clientAddress(request)]).toEqual([
      '2001:db8:a:b::/64',
      '2001:db8:a:b::/64',
      '2001:db8:a:b::7',
    ]);
    expect(reads()).toBe(1);
  });
});

describe(canonicalAddress.name, () => {
  it('should write an IPv4-mapped IPv6 address as the IPv4 address', () => {
    expect(canonicalAddress('::ffff:10.0.0.1')).toBe('10.0.0.1');
    expect(canonicalAddress('::FFFF:10.0.0.1')).toBe('10.0.0.1');
  });

  it('should keep other addresses as they are, in lower case', () => {
    expect(canonicalAddress('10.0.0.1')).toBe('10.0.0.1');
    expect(canonicalAddress('2001:DB8::1')).toBe('2001:db8::1');
    expect(canonicalAddress('::ffff:999.0.0.1')).toBe('::ffff:999.0.0.1');
  });
});
