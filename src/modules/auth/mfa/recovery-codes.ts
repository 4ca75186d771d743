import { hash, randomBytes } from 'node:crypto';

export const RECOVERY_CODE_COUNT = 10;
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** 80 random bits as `xxxx-xxxx-xxxx-xxxx` (base32, no look-alike digits 0, 1, 8, 9). */
export function newRecoveryCode(): string {
  const bytes = randomBytes(10);
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out.match(/.{4}/g)?.join('-') ?? out;
}

/**
 * The stored form: SHA-256 of the code without separators or case. 80 random bits cannot be
 * guessed offline from the hash, so a slow password hash would add nothing.
 */
export function hashRecoveryCode(code: string): Buffer {
  return hash('sha256', code.toLowerCase().replace(/[^a-z2-7]/g, ''), 'buffer');
}
