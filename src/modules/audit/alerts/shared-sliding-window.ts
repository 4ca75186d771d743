import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { SlidingWindowCounter } from './sliding-window.js';

/**
 * SlidingWindowCounter's rule in Redis, in one atomic step: the hits of a subject in a sorted
 * set (the newest `threshold` within the window), and an alert flag that lives one window,
 * so every instance counts the same hits and only one of them raises the alert.
 */
const HIT_SCRIPT = `
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local threshold = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('ZADD', KEYS[1], now, ARGV[4])
local count = redis.call('ZCARD', KEYS[1])
if count > threshold then
  redis.call('ZPOPMIN', KEYS[1], count - threshold)
  count = threshold
end
redis.call('PEXPIRE', KEYS[1], window)
if count < threshold then return 0 end
if redis.call('SET', KEYS[2], '1', 'NX', 'PX', window) then return count end
return 0`;

/** After Redis fails, hits skip it this long (no per-record wait on a hung Redis). */
const REDIS_RETRY_MS = 2_000;

/**
 * One detector's sliding window, shared by every instance through Redis when it is
 * configured (a burst spread over N instances alerts as it would on one), in this process's
 * memory otherwise, and in memory while Redis does not answer (each instance then alerts on
 * what it sees: never fewer alerts, at worst one per instance).
 */
export class SharedSlidingWindow {
  private readonly local: SlidingWindowCounter;
  private retryAt = 0;

  constructor(
    private readonly name: string,
    readonly threshold: number,
    readonly windowMs: number,
    private readonly redis: Redis | undefined,
  ) {
    this.local = new SlidingWindowCounter(threshold, windowMs);
  }

  /** Records one hit at `now` (ms); returns the count in the window when this hit raises the alert. */
  async hit(subject: string, now: number): Promise<number | undefined> {
    if (!this.redis || Date.now() < this.retryAt) return this.local.hit(subject, now);
    const key = `alert:${this.name}:${subject}`;
    try {
      const raised = (await this.redis.eval(
        HIT_SCRIPT,
        2,
        `${key}:hits`,
        `${key}:alerted`,
        now,
        this.windowMs,
        this.threshold,
        randomUUID(),
      )) as number;
      return raised > 0 ? raised : undefined;
    } catch {
      this.retryAt = Date.now() + REDIS_RETRY_MS;
      return this.local.hit(subject, now);
    }
  }

  prune(now: number): void {
    this.local.prune(now);
  }
}
