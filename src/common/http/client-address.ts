import type { Request } from 'express';

/**
 * The client address as Express resolves it: the socket's peer, unless TRUST_PROXY names
 * the proxies whose X-Forwarded-For may be believed. A forged header changes nothing.
 */
export function clientAddress(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? 'unknown';
}
