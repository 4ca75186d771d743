import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { VerifiedCredentialCache } from './verified-credential-cache.js';

interface Credential {
  id: string;
  userId: string;
  usable: boolean;
}

const TTL_MS = 30_000;
const usable = (credential: Credential) => credential.usable;
const credential = (id: string, userId = 'u-1'): Credential => ({ id, userId, usable: true });

function newCache(maxEntries = 100) {
  return new VerifiedCredentialCache<Credential>({ maxEntries, ttlMs: TTL_MS, identify: (c) => c });
}

/** A read that answers when told to, so a test can act while it is in flight. */
function pendingRead(value: Credential | null) {
  let answer: () => void = () => undefined;
  const answered = new Promise<void>((resolve) => {
    answer = resolve;
  });
  return {
    read: async () => {
      await answered;
      return value;
    },
    answer,
  };
}

describe(VerifiedCredentialCache.name, () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  describe('load', () => {
    it('should keep a usable credential and serve it without reading again', async () => {
      const cache = newCache();
      const read = vi.fn(async () => credential('k-1'));
      const loaded = await cache.load('a', read, usable);
      expect(loaded?.value.id).toBe('k-1');
      expect(cache.get('a')).toBe(loaded);
      expect(read).toHaveBeenCalledTimes(1);
    });

    it('should keep nothing for a credential the read does not find, however many are presented', async () => {
      const cache = newCache(10);
      await cache.load('known', async () => credential('k-1'), usable);
      for (let i = 0; i < 1_000; i += 1) {
        expect(await cache.load(randomBytes(9).toString('base64url'), async () => null, usable)).toBeNull();
      }
      expect(cache.size).toBe(1);
      expect(cache.get('known')?.value.id).toBe('k-1');
    });

    it('should answer with a credential that is not usable but keep nothing of it', async () => {
      const cache = newCache();
      const refused = { ...credential('k-1'), usable: false };
      expect((await cache.load('a', async () => refused, usable))?.value).toBe(refused);
      expect(cache.get('a')).toBeUndefined();
      expect(cache.size).toBe(0);
    });

    it('should not keep what it read before an eviction that happened while it read', async () => {
      const cache = newCache();
      const pending = pendingRead(credential('k-1'));
      const loading = cache.load('a', pending.read, usable);
      // The credential is revoked (here or on another instance) after the read, before the answer.
      cache.evictCredential('k-1');
      pending.answer();
      expect((await loading)?.value.id).toBe('k-1');
      expect(cache.get('a')).toBeUndefined();
      // A read that starts after the eviction is kept as usual.
      await cache.load('a', async () => credential('k-2'), usable);
      expect(cache.get('a')?.value.id).toBe('k-2');
    });

    it('should count any eviction as a race, even of another credential or user', async () => {
      const cache = newCache();
      const pending = pendingRead(credential('k-1', 'u-1'));
      const loading = cache.load('a', pending.read, usable);
      cache.evictUser('u-2');
      pending.answer();
      await loading;
      expect(cache.get('a')).toBeUndefined();
    });
  });

  describe('get', () => {
    it('should serve an entry for its time to live and not after', async () => {
      vi.useFakeTimers({ toFake: ['Date'] });
      const cache = newCache();
      await cache.load('a', async () => credential('k-1'), usable);
      vi.advanceTimersByTime(TTL_MS - 1);
      expect(cache.get('a')?.value.id).toBe('k-1');
      vi.advanceTimersByTime(1);
      expect(cache.get('a')).toBeUndefined();
      expect(cache.size).toBe(0);
    });
  });

  describe('bounds', () => {
    it('should hold at most maxEntries, dropping the oldest first', async () => {
      const cache = newCache(3);
      for (const key of ['a', 'b', 'c', 'd', 'e']) await cache.load(key, async () => credential(`k-${key}`), usable);
      expect(cache.size).toBe(3);
      expect(['a', 'b', 'c', 'd', 'e'].map((key) => cache.get(key)?.value.id)).toEqual([
        undefined,
        undefined,
        'k-c',
        'k-d',
        'k-e',
      ]);
    });

    it('should count a reloaded entry as new: it goes last', async () => {
      const cache = newCache(2);
      await cache.load('a', async () => credential('k-a'), usable);
      await cache.load('b', async () => credential('k-b'), usable);
      await cache.load('a', async () => credential('k-a'), usable);
      await cache.load('c', async () => credential('k-c'), usable);
      expect(cache.get('a')?.value.id).toBe('k-a');
      expect(cache.get('b')).toBeUndefined();
    });

    it('should drop expired entries when it inserts, even below its bound', async () => {
      vi.useFakeTimers({ toFake: ['Date'] });
      const cache = newCache(100);
      await cache.load('a', async () => credential('k-a'), usable);
      await cache.load('b', async () => credential('k-b'), usable);
      vi.advanceTimersByTime(TTL_MS);
      await cache.load('c', async () => credential('k-c'), usable);
      expect(cache.size).toBe(1);
    });
  });

  describe('evict', () => {
    it('should drop the credential by id, and every credential of a user by user', async () => {
      const cache = newCache();
      await cache.load('a', async () => credential('k-a', 'u-1'), usable);
      await cache.load('b', async () => credential('k-b', 'u-1'), usable);
      await cache.load('c', async () => credential('k-c', 'u-2'), usable);
      cache.evictCredential('k-a');
      expect([cache.get('a'), cache.get('b')?.value.id]).toEqual([undefined, 'k-b']);
      cache.evictUser('u-1');
      expect([cache.get('b'), cache.get('c')?.value.id]).toEqual([undefined, 'k-c']);
    });
  });

  describe('isVerified', () => {
    it('should accept only the very secret remembered for the entry', async () => {
      const cache = newCache();
      const entry = await cache.load('a', async () => credential('k-1'), usable);
      if (!entry) throw new Error('loaded nothing');
      const secret = randomBytes(32).toString('base64url');
      expect(cache.isVerified(entry, secret)).toBe(false);
      cache.rememberVerified(entry, secret);
      expect(cache.isVerified(entry, secret)).toBe(true);
      expect(cache.isVerified(entry, `${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`)).toBe(false);
      expect(cache.isVerified(entry, secret.slice(0, -1))).toBe(false);
      expect(cache.isVerified(entry, `${secret}A`)).toBe(false);
      expect(cache.isVerified(entry, '')).toBe(false);
    });
  });
});
