import { isIPv4, isIPv6 } from 'node:net';
import type { Request } from 'express';
import { oncePerRequest } from './once-per-request.js';

const CLIENT_ADDRESS = Symbol('client address');
const CLIENT_BUCKET = Symbol('client address bucket');

/**
 * The client address as Express resolves it: the socket's peer, unless TRUST_PROXY names
 * the proxies whose X-Forwarded-For may be believed. A forged header changes nothing. Once
 * per request: limits, refusals, alerts and the audit each ask, and Express works `req.ip`
 * out again from the socket and X-Forwarded-For on every read.
 */
export function clientAddress(req: Request): string {
  return oncePerRequest(req, CLIENT_ADDRESS, () => req.ip ?? req.socket.remoteAddress ?? 'unknown');
}

/** The `addressBucket` of the request's client address, once per request. */
export function clientBucket(req: Request): string {
  return oncePerRequest(req, CLIENT_BUCKET, () => addressBucket(clientAddress(req)));
}

const IPV4_MAPPED = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/;

/**
 * One client, one form: a listener on `::` sees IPv4 clients as `::ffff:a.b.c.d`, one on
 * `0.0.0.0` (or a proxy's X-Forwarded-For) as `a.b.c.d`, and a switch between the two must
 * not look like a client moving to a new address.
 */
export function canonicalAddress(address: string): string {
  const lower = address.toLowerCase();
  const mapped = IPV4_MAPPED.exec(lower)?.[1];
  return mapped && isIPv4(mapped) ? mapped : lower;
}

/** The eight 16-bit groups of an IPv6 address (an embedded IPv4 tail becomes the last two). */
function ipv6Groups(address: string): number[] {
  let text = address.toLowerCase().split('%')[0] ?? '';
  const ipv4Tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)?.[1];
  if (ipv4Tail) {
    const [a = 0, b = 0, c = 0, d = 0] = ipv4Tail.split('.').map(Number);
    text = `${text.slice(0, -ipv4Tail.length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const parse = (part: string) => (part ? part.split(':').map((group) => parseInt(group, 16)) : []);
  const front = parse(head);
  const back = tail === undefined ? [] : parse(tail);
  return [...front, ...Array<number>(8 - front.length - back.length).fill(0), ...back];
}

/**
 * Whom limits and lockout count an address against: an IPv4 address itself (IPv4-mapped
 * IPv6 included), but an IPv6 address's /64, since one subscriber or one cloud host holds
 * a whole /64 and could otherwise take a fresh address, and a fresh budget, per request.
 * The audit trail keeps the full address.
 */
export function addressBucket(address: string): string {
  const canonical = canonicalAddress(address);
  // Every IPv6 address has a colon; an IPv4 one is then spared node:net's long IPv6 pattern.
  if (!canonical.includes(':') || !isIPv6(canonical)) return canonical;
  const groups = ipv6Groups(canonical);
  if (groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff) {
    const [high = 0, low = 0] = groups.slice(6);
    return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
  }
  return `${groups
    .slice(0, 4)
    .map((group) => group.toString(16))
    .join(':')}::/64`;
}
