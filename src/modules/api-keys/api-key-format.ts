import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Fixed tag: secret scanners (and people) recognise a leaked key by it. */
export const API_KEY_TAG = 'nsak_';
const PREFIX_BYTES = 9; // 12 base64url characters, public
const SECRET_BYTES = 32; // 256 bits from the CSPRNG
const KEY_SHAPE = /^nsak_([A-Za-z0-9_-]{12})\.([A-Za-z0-9_-]{43})$/;

export interface ApiKeyParts {
  prefix: string;
  secret: string;
}

export function newApiKey(): ApiKeyParts & { key: string } {
  const prefix = randomBytes(PREFIX_BYTES).toString('base64url');
  const secret = randomBytes(SECRET_BYTES).toString('base64url');
  return { prefix, secret, key: `${API_KEY_TAG}${prefix}.${secret}` };
}

/** The prefix and secret of a well-formed key; undefined for anything else. */
export function parseApiKey(key: string): ApiKeyParts | undefined {
  const match = KEY_SHAPE.exec(key);
  return match ? { prefix: match[1] as string, secret: match[2] as string } : undefined;
}

/**
 * A fast keyed hash: the secret has 256 random bits, so a slow password hash would add
 * latency and no safety; the pepper (kept outside the database) makes a stolen table useless.
 */
export function hashApiKeySecret(secret: string, pepper: string): Buffer {
  return createHmac('sha256', pepper).update(secret, 'utf8').digest();
}

export function secretMatches(secret: string, storedHash: Buffer, pepper: string): boolean {
  const candidate = hashApiKeySecret(secret, pepper);
  return candidate.length === storedHash.length && timingSafeEqual(candidate, storedHash);
}
