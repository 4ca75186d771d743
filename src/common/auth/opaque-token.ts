import { hash, randomBytes } from 'node:crypto';

/**
 * A bearer secret: a recognizable tag (so secret scanners can spot a leaked one) and 256
 * random bits. Such a secret cannot be guessed, so a fast hash is enough to store it: a
 * slow password hash would only add latency to every request.
 */
export function newOpaqueToken(tag: string): string {
  return `${tag}_${randomBytes(32).toString('base64url')}`;
}

/** The stored form of an opaque token: SHA-256, looked up by equality on an indexed column. */
export function hashOpaqueToken(token: string): Buffer {
  return hash('sha256', token, 'buffer');
}
