import type { PinoLogger } from 'nestjs-pino';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../config/app-config.js';
import { SigningKeysService } from './signing-keys.service.js';
import { generateKeySet, generateStoredKey, rotateKeySet, toSigningKey } from './signing-keys.js';

describe(rotateKeySet.name, () => {
  it('should put a new key of each algorithm first and keep the old ones until their tokens expire', async () => {
    const first = await generateKeySet();
    const rotated = await rotateKeySet(first, 360, 1_000);
    expect(rotated.keys).toHaveLength(4);
    const current = rotated.keys.filter((key) => key.retired_at === undefined);
    expect(current.map((key) => key.alg).sort()).toEqual(['ES256', 'RS256']);
    expect(current.map((key) => key.kid)).not.toContain(first.keys[0]?.kid);
    expect(rotated.keys.slice(2)).toMatchObject(first.keys.map((key) => ({ kid: key.kid, retired_at: 1_000 })));
  });

  it('should drop a retired key once its tokens can no longer be valid', async () => {
    const once = await rotateKeySet(await generateKeySet(), 360, 1_000);
    const twice = await rotateKeySet(once, 360, 1_000 + 361);
    expect(twice.keys.map((k) => k.kid)).toEqual([
      twice.keys[0]?.kid,
      twice.keys[1]?.kid,
      once.keys[0]?.kid,
      once.keys[1]?.kid,
    ]);
  });
});

describe(toSigningKey.name, () => {
  it('should publish only the public half of an ES256 key', async () => {
    const key = toSigningKey(await generateStoredKey());
    expect(key.publicJwk).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig', kid: key.kid });
    expect(key.publicJwk).not.toHaveProperty('d');
  });

  it('should publish only the public half of an RS256 key, its kid the thumbprint', async () => {
    const key = toSigningKey(await generateStoredKey('RS256'));
    expect(key.publicJwk).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig', kid: key.kid, e: 'AQAB' });
    expect(Object.keys(key.publicJwk).sort()).toEqual(['alg', 'e', 'kid', 'kty', 'n', 'use']);
  });
});

describe(SigningKeysService.name, () => {
  const service = (env: Record<string, string>) =>
    new SigningKeysService(
      loadConfig({ NODE_ENV: 'test', DATA_DIR: ':memory:', ...env }),
      undefined as unknown as PinoLogger,
    );

  it('should refuse to start on a key set without a current RS256 key for ID tokens', async () => {
    const onlyEs256 = JSON.stringify({ keys: [await generateStoredKey()] });
    await expect(service({ JWT_KEYS: onlyEs256 }).onModuleInit()).rejects.toThrow(/no current RS256 key/);
  });

  it('should sign access tokens with ES256 only, and publish both algorithms', async () => {
    const keys = service({ JWT_KEYS: JSON.stringify(await generateKeySet()) });
    await keys.onModuleInit();
    expect(keys.current.alg).toBe('ES256');
    const rsa = keys.jwks().keys.find((key) => key.alg === 'RS256');
    expect(rsa).toBeDefined();
    // An RS256 kid is no key for access tokens: an ID token cannot pass as one.
    expect(keys.find(rsa?.kid)).toBeUndefined();
    expect(keys.find(keys.current.kid)).toBe(keys.current);
  });
});
