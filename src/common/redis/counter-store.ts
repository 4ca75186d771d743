import { Injectable } from '@nestjs/common';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { MetricsRegistry } from '../metrics/metrics-registry.js';
import { BudgetLeases } from './budget-leases.js';
import { RedisService } from './redis.service.js';

export interface CounterState {
  count: number;
  /** Seconds until the window ends and the count starts again from zero. */
  resetInSeconds: number;
}

// Increment and set the window in one atomic step: no race between INCR and EXPIRE.
const HIT_SCRIPT = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {count, ttl}`;

const DECREMENT_SCRIPT = `
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count > 0 then return redis.call('DECR', KEYS[1]) end
return 0`;

/**
 * Live windows one instance counts in memory. Keys are request data (addresses, users), so
 * past this many, after expired windows are pruned, the oldest are forgotten: a bucket then
 * starts again from zero, which only an attacker holding this many live buckets at once
 * (many /64s, say) can reach, and each forgotten one is still bounded by its limit.
 */
const MAX_MEMORY_COUNTERS = 200_000;

class MemoryCounters {
  private readonly counters = new Map<string, { count: number; resetAt: number }>();

  hit(key: string, windowMs: number, now = Date.now()): CounterState {
    let counter = this.counters.get(key);
    if (!counter || counter.resetAt <= now) {
      counter = { count: 0, resetAt: now + windowMs };
      this.counters.delete(key);
      this.counters.set(key, counter);
      if (this.counters.size % 1024 === 0) this.prune(now);
      if (this.counters.size > MAX_MEMORY_COUNTERS) this.forgetOldest();
    }
    counter.count += 1;
    return { count: counter.count, resetInSeconds: Math.ceil((counter.resetAt - now) / 1000) };
  }

  clear(key: string): void {
    this.counters.delete(key);
  }

  decrement(key: string, now = Date.now()): void {
    const counter = this.counters.get(key);
    if (counter && counter.resetAt > now && counter.count > 0) counter.count -= 1;
  }

  private prune(now: number): void {
    for (const [key, counter] of this.counters) if (counter.resetAt <= now) this.counters.delete(key);
  }

  /** Windows are re-inserted when they open, so the Map's first key is the oldest window. */
  private forgetOldest(): void {
    const oldest = this.counters.keys().next();
    if (!oldest.done) this.counters.delete(oldest.value);
  }
}

/**
 * Fixed-window counters: in memory for one instance, in Redis (atomic, shared by every
 * instance) when configured. If Redis stops answering, counting goes on in memory on each
 * instance, so a limit never fails open; shared counting resumes when Redis is back.
 */
type Client = NonNullable<RedisService['client']>;

/**
 * The hit script as a command of its own: ioredis sends it by SHA (EVALSHA) and only once
 * in full, instead of its text with every request. Defined when the store is made, before any
 * command: an auto-pipeline built earlier would lack it ("pipeline[functionName] is not a
 * function", which crashed the server under load when it was defined on first use).
 */
function defineHitCounter(client: Client): void {
  client.defineCommand('hitCounter', { numberOfKeys: 1, lua: HIT_SCRIPT });
}

async function hitCounter(client: Client, key: string, windowMs: number): Promise<CounterState> {
  const command = (client as unknown as Record<string, (key: string, windowMs: number) => Promise<[number, number]>>)
    .hitCounter;
  const [count, ttl] = await command.call(client, key, windowMs);
  return { count, resetInSeconds: Math.ceil(ttl / 1000) };
}

/** After Redis fails, requests skip it this long (no per-request wait on a hung Redis). */
const REDIS_RETRY_MS = 2_000;

@Injectable()
export class CounterStore {
  private readonly memory = new MemoryCounters();
  /** 0 while Redis answers; else when to try it again. */
  private redisRetryAt = 0;
  private readonly leases: BudgetLeases | undefined;

  constructor(
    private readonly redis: RedisService,
    private readonly metrics: MetricsRegistry,
    @InjectPinoLogger(CounterStore.name) private readonly logger: PinoLogger,
  ) {
    if (redis.client) defineHitCounter(redis.client);
    this.leases = redis.client && new BudgetLeases(redis.client);
    // A reconnected Redis is used again at once.
    redis.client?.on('ready', () => {
      this.redisRetryAt = 0;
    });
  }

  /** Counts one hit; every hit is a round trip to Redis when it is configured (exact, for lockout). */
  hit(key: string, windowSeconds: number): Promise<CounterState> {
    const windowMs = windowSeconds * 1000;
    return this.shared(key, windowMs, (client) => hitCounter(client, `counter:${key}`, windowMs));
  }

  /**
   * Counts one hit against `limit`, for rate limits: on Redis, from shares of the budget
   * this instance leases (see BudgetLeases), so most hits make no round trip, and no more
   * than `limit` hits in a window are ever counted under it across instances.
   */
  hitWithinLimit(key: string, windowSeconds: number, limit: number): Promise<CounterState> {
    const windowMs = windowSeconds * 1000;
    const leases = this.leases;
    if (!leases) return Promise.resolve(this.memory.hit(key, windowMs));
    return this.shared(key, windowMs, () => leases.hit(`counter:${key}`, windowMs, limit));
  }

  private async shared(
    key: string,
    windowMs: number,
    count: (client: Client) => Promise<CounterState>,
  ): Promise<CounterState> {
    const client = this.usableRedis();
    if (client) {
      try {
        const counted = await count(client);
        if (this.redisRetryAt !== 0) this.logger.info('redis counters answer again; limits are shared once more');
        this.redisRetryAt = 0;
        return counted;
      } catch (error) {
        // Logged once per outage, not once per request.
        if (this.redisRetryAt === 0) {
          this.logger.error({ err: error }, 'redis counters unavailable; counting in memory on this instance');
        }
        this.redisRetryAt = Date.now() + REDIS_RETRY_MS;
      }
    }
    if (this.redis.client) this.metrics.redisFallbacks.inc({ operation: 'counter' });
    return this.memory.hit(key, windowMs);
  }

  /** Gives one back (an attempt that turned out fine); never below zero, never past the window. */
  async decrement(key: string): Promise<void> {
    this.memory.decrement(key);
    await this.usableRedis()
      ?.eval(DECREMENT_SCRIPT, 1, `counter:${key}`)
      .catch(() => undefined);
  }

  async clear(key: string): Promise<void> {
    this.memory.clear(key);
    await this.usableRedis()
      ?.del(`counter:${key}`)
      .catch(() => undefined);
  }

  private usableRedis() {
    return this.redis.client && Date.now() >= this.redisRetryAt ? this.redis.client : undefined;
  }
}
