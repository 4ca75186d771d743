import type { Redis } from 'ioredis';
import type { CounterState } from './counter-store.js';

/**
 * Takes a share of a window's budget in one atomic step: never more than what is left
 * under the limit, and at most a quarter of it, so one instance cannot starve the others;
 * near the limit every share is one hit, and counting is exact. Over the limit, one hit is
 * counted (a refused request) and nothing is granted beyond it.
 * Returns the count before the share, the share, and the window's remaining milliseconds.
 */
const LEASE_SCRIPT = `
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local limit = tonumber(ARGV[2])
local share = 1
if current < limit then share = math.max(1, math.min(tonumber(ARGV[3]), math.floor((limit - current) / 4))) end
local count = redis.call('INCRBY', KEYS[1], share)
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {count - share, share, ttl}`;

/** The largest share one request for budget takes: at 2,500 requests/s, ~40 round trips a second. */
const MAX_SHARE = 64;
/** A share used up this fast means the key is hot: ask for twice as much next time. */
const HOT_WITHIN_MS = 100;
/** Entries are pruned of ended windows each time the map grows by this many. */
const PRUNE_EVERY = 1024;

/** The budget this instance holds for one key in the current window. */
interface Lease {
  /** Local clock; from when the request for the share was sent, so never later than Redis's. */
  windowEndsAt: number;
  /** The window's count in Redis before our share: our hits are base + 1 … base + granted. */
  base: number;
  granted: number;
  used: number;
  grantedAt: number;
  /** How much to ask for next time. */
  nextShare: number;
}

type Client = Redis & { takeBudget(key: string, windowMs: number, limit: number, share: number): Promise<number[]> };

/**
 * Rate-limit counting on Redis without a round trip per request. A request takes one
 * unit of a share this instance leased from the shared count; only when the share is used
 * up does it ask Redis for another, sized by how fast the last one went. The total leased
 * by all instances never exceeds the limit, so no more than the limit gets through; a share
 * another instance leased and did not use is lost to the window (they are small near the
 * limit). Once the window's count is at the limit, refusals are answered locally until it
 * ends. Written here because throttler storages for Redis make one round trip per request,
 * which costs more than the rest of a small authenticated request.
 */
export class BudgetLeases {
  private readonly leases = new Map<string, Lease>();
  private readonly pending = new Map<string, Promise<void>>();
  private readonly client: Client;

  constructor(client: Redis) {
    client.defineCommand('takeBudget', { numberOfKeys: 1, lua: LEASE_SCRIPT });
    this.client = client as Client;
  }

  /**
   * Counts one hit against `limit` per window of `windowMs`; rejects when Redis does not
   * answer (the caller counts elsewhere). Hits waiting for the same key share one request.
   */
  async hit(key: string, windowMs: number, limit: number): Promise<CounterState> {
    for (;;) {
      const now = Date.now();
      const lease = this.leases.get(key);
      if (lease && lease.windowEndsAt > now) {
        const resetInSeconds = Math.ceil((lease.windowEndsAt - now) / 1000);
        if (lease.used < lease.granted) {
          lease.used += 1;
          return { count: lease.base + lease.used, resetInSeconds };
        }
        // All of the window's budget is taken: counts only grow until the window ends.
        if (lease.base + lease.granted >= limit) {
          lease.used += 1;
          lease.granted += 1;
          return { count: lease.base + lease.used, resetInSeconds };
        }
      }
      const inFlight = this.pending.get(key);
      if (inFlight) {
        await inFlight;
        continue;
      }
      const request = this.lease(key, windowMs, limit, lease, now).finally(() => this.pending.delete(key));
      this.pending.set(key, request);
      await request;
    }
  }

  private async lease(key: string, windowMs: number, limit: number, previous: Lease | undefined, now: number) {
    const share = nextShare(previous, now);
    const [base = 0, granted = 1, ttl = windowMs] = await this.client.takeBudget(key, windowMs, limit, share);
    if (!this.leases.has(key) && (this.leases.size + 1) % PRUNE_EVERY === 0) this.prune(Date.now());
    this.leases.set(key, { windowEndsAt: now + ttl, base, granted, used: 0, grantedAt: Date.now(), nextShare: share });
  }

  private prune(now: number): void {
    for (const [key, lease] of this.leases) if (lease.windowEndsAt <= now) this.leases.delete(key);
  }
}

function nextShare(previous: Lease | undefined, now: number): number {
  if (!previous) return 1;
  const hot = now - previous.grantedAt < HOT_WITHIN_MS;
  return hot ? Math.min(previous.nextShare * 2, MAX_SHARE) : Math.max(1, Math.floor(previous.nextShare / 2));
}
