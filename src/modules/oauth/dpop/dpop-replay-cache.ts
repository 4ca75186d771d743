import { Injectable } from '@nestjs/common';
import { ServiceUnavailableError } from '../../../common/errors/app-error.js';
import { RedisService } from '../../../common/redis/redis.service.js';

/** Far above what one instance sees within a proof's lifetime at the API's rate limits. */
const MEMORY_CAPACITY = 100_000;

/**
 * The DPoP proof ids (`jti`) already seen, for as long as a proof could still pass the
 * freshness check. With REDIS_URL, one set for every instance (SET NX: the first instance
 * to record an id wins, atomically); without it, a bounded map in this instance's memory
 * that refuses new proofs rather than forget unexpired ones when full.
 */
@Injectable()
export class DpopReplayCache {
  private readonly seen = new Map<string, number>();

  constructor(private readonly redis: RedisService) {}

  /** True the first time this id is recorded; false for a replay. */
  async firstUse(key: string, ttlSeconds: number): Promise<boolean> {
    const { client } = this.redis;
    if (client) {
      try {
        return (await client.set(`dpop:${key}`, '1', 'EX', ttlSeconds, 'NX')) === 'OK';
      } catch {
        // Without the shared set a replay on another instance would go unseen: refuse.
        throw new ServiceUnavailableError('DPoP proofs cannot be checked for replay right now; try again.');
      }
    }
    return this.firstUseInMemory(key, ttlSeconds * 1000, Date.now());
  }

  private firstUseInMemory(key: string, ttlMs: number, now: number): boolean {
    const expiresAt = this.seen.get(key);
    if (expiresAt !== undefined && expiresAt > now) return false;
    // Every entry has the same lifetime, so insertion order is expiry order: drop from the front.
    for (const [seenKey, seenUntil] of this.seen) {
      if (seenUntil > now) break;
      this.seen.delete(seenKey);
    }
    if (this.seen.size >= MEMORY_CAPACITY) {
      throw new ServiceUnavailableError('Too many DPoP proofs in flight on this instance; try again.');
    }
    this.seen.delete(key);
    this.seen.set(key, now + ttlMs);
    return true;
  }
}
