import { Injectable } from '@nestjs/common';
import { ServiceUnavailableError } from '../../../common/errors/app-error.js';
import { RedisService } from '../../../common/redis/redis.service.js';

/** Far above what one instance sees within a proof's lifetime at the API's rate limits. */
const MEMORY_CAPACITY = 100_000;

/**
 * Ids seen within a fixed lifetime, at most `capacity` of them. Every entry lives as long as
 * the others, so insertion order is expiry order and expired ones go from the front. When
 * full of live ids it refuses new ones rather than forget one that could be replayed.
 */
export class BoundedSeenSet {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly capacity: number,
    private readonly ttlMs: number,
  ) {}

  /** True the first time; false for an id already seen; throws when full of live ids. */
  add(key: string, now = Date.now()): boolean {
    for (const [seenKey, seenUntil] of this.seen) {
      if (seenUntil > now) break;
      this.seen.delete(seenKey);
    }
    if (this.seen.has(key)) return false;
    if (this.seen.size >= this.capacity) {
      throw new ServiceUnavailableError('Too many DPoP proofs in flight on this instance; try again.');
    }
    this.seen.set(key, now + this.ttlMs);
    return true;
  }
}

/**
 * The DPoP proof ids (`jti`) already seen, for as long as a proof could still pass the
 * freshness check. With REDIS_URL, one set for every instance (SET NX: the first instance
 * to record an id wins, atomically); without it, a bounded set in this instance's memory.
 */
@Injectable()
export class DpopReplayCache {
  private readonly local = new Map<number, BoundedSeenSet>();

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
    let seen = this.local.get(ttlSeconds);
    if (!seen) {
      seen = new BoundedSeenSet(MEMORY_CAPACITY, ttlSeconds * 1000);
      this.local.set(ttlSeconds, seen);
    }
    return seen.add(key);
  }
}
