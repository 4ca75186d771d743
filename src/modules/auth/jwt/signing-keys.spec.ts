import { describe, expect, it } from 'vitest';
import { generateStoredKey, rotateKeySet, toSigningKey } from './signing-keys.js';

describe(rotateKeySet.name, () => {
  it('should put a new key first and keep the old one until its tokens expire', async () => {
    const first = await generateStoredKey();
    const rotated = await rotateKeySet({ keys: [first] }, 360, 1_000);
    expect(rotated.keys).toHaveLength(2);
    expect(rotated.keys[0]?.kid).not.toBe(first.kid);
    expect(rotated.keys[0]?.retired_at).toBeUndefined();
    expect(rotated.keys[1]).toMatchObject({ kid: first.kid, retired_at: 1_000 });
  });

  it('should drop a retired key once its tokens can no longer be valid', async () => {
    const once = await rotateKeySet({ keys: [await generateStoredKey()] }, 360, 1_000);
    const twice = await rotateKeySet(once, 360, 1_000 + 361);
    expect(twice.keys.map((k) => k.kid)).toEqual([twice.keys[0]?.kid, once.keys[0]?.kid]);
  });
});

describe(toSigningKey.name, () => {
  it('should publish only the public half', async () => {
    const key = toSigningKey(await generateStoredKey());
    expect(key.publicJwk).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig', kid: key.kid });
    expect(key.publicJwk).not.toHaveProperty('d');
  });
});
