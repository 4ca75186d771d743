import { describe, expect, it } from 'vitest';
import { ServiceUnavailableError } from '../../common/errors/app-error.js';
import { CONCURRENT_HASHES, MAX_QUEUED_HASHES, PasswordHasher } from './password-hasher.js';

describe(PasswordHasher.name, () => {
  it('should verify the password it hashed, and no other', async () => {
    const hasher = new PasswordHasher();
    const stored = await hasher.hash('Tidal-Orbit-7731-Quartz!');
    expect(stored).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(await hasher.verify(stored, 'Tidal-Orbit-7731-Quartz!')).toBe(true);
    expect(await hasher.verify(stored, 'Tidal-Orbit-7731-Quartz?')).toBe(false);
    // An unknown email (no hash) and a stored value that is no argon2 hash match nothing.
    expect(await hasher.verify(undefined, 'Tidal-Orbit-7731-Quartz!')).toBe(false);
    expect(await hasher.verify('not-a-hash', 'Tidal-Orbit-7731-Quartz!')).toBe(false);
  });

  it('should run one hash per core at most, queue a bounded number, refuse the rest at once with a 503, and answer the others', async () => {
    expect(CONCURRENT_HASHES).toBeGreaterThanOrEqual(1);
    expect(CONCURRENT_HASHES).toBeLessThan(4);
    const hasher = new PasswordHasher();
    // Settles the hash made for unknown emails, which takes a slot while it runs.
    await hasher.verify(undefined, 'warm');
    const refusedBeyond = 10;
    const hashes = Array.from({ length: CONCURRENT_HASHES + MAX_QUEUED_HASHES + refusedBeyond }, (_, i) =>
      hasher.hash(`Tidal-Orbit-${i}-Quartz!`).then(
        (stored) => ({ stored }),
        (error: unknown) => ({ error }),
      ),
    );
    const settled = await Promise.all(hashes);
    const refused = settled.flatMap((result, i) => ('error' in result ? [{ i, error: result.error }] : []));
    // Exactly the calls past the running ones and a full queue: the last ten.
    expect(refused.map(({ i }) => i)).toEqual(
      Array.from({ length: refusedBeyond }, (_, k) => CONCURRENT_HASHES + MAX_QUEUED_HASHES + k),
    );
    for (const { error } of refused) expect(error).toBeInstanceOf(ServiceUnavailableError);
    for (const result of settled) if ('stored' in result) expect(result.stored).toMatch(/^\$argon2id\$/);
    // Once the queue drains, hashes are taken again.
    expect(await hasher.verify(await hasher.hash('Tidal-Orbit-7731-Quartz!'), 'Tidal-Orbit-7731-Quartz!')).toBe(true);
  });
});
