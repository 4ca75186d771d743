import type { ThrottlerStorage } from '@nestjs/throttler';
import { CounterStore } from '../../common/redis/counter-store.js';

/**
 * The throttler's storage on our CounterStore: shares of each window's budget leased from
 * Redis by one atomic Lua script (shared by every instance, never more than the limit in
 * total), memory otherwise, and per-instance memory while Redis is away. Written here rather than taken from @nest-lab/throttler-storage-redis, which does
 * not declare Nest 12 support and has no fallback when Redis stops answering.
 */
export class CounterThrottlerStorage implements ThrottlerStorage {
  constructor(private readonly counters: CounterStore) {}

  async increment(key: string, ttlMs: number, limit: number): ReturnType<ThrottlerStorage['increment']> {
    const { count, resetInSeconds } = await this.counters.hitWithinLimit(`rate:${key}`, Math.ceil(ttlMs / 1000), limit);
    return {
      totalHits: count,
      timeToExpire: resetInSeconds,
      isBlocked: count > limit,
      timeToBlockExpire: resetInSeconds,
    };
  }
}
