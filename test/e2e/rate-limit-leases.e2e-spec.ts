import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { BudgetLeases } from '../../src/common/redis/budget-leases.js';
import { describeWithSharedServices, TEST_REDIS_URL } from '../setup/test-app.js';

const MINUTE_MS = 60_000;

/** A key no other test (or run) counts on. */
const freshKey = () => `test:leases:${randomBytes(6).toString('hex')}`;

/**
 * Two instances' views of one Redis: the shares each leases must add up to no more than the
 * limit, however the hits interleave, and a hot key must not cost a round trip per hit.
 */
describeWithSharedServices('budget leases on Redis', () => {
  let clients: Redis[];
  let a: BudgetLeases;
  let b: BudgetLeases;
  beforeAll(() => {
    clients = [new Redis(TEST_REDIS_URL), new Redis(TEST_REDIS_URL)];
    [a, b] = clients.map((client) => new BudgetLeases(client)) as [BudgetLeases, BudgetLeases];
  });
  afterAll(() => Promise.all(clients.map((client) => client.quit())));

  const allowed = (counts: { count: number }[], limit: number) => counts.filter(({ count }) => count <= limit);

  it('should let no more than the limit through across two instances hit in parallel, each count once', async () => {
    const key = freshKey();
    const limit = 37;
    const hits = await Promise.all(
      Array.from({ length: 300 }, (_, i) => (i % 3 === 0 ? a : b).hit(key, MINUTE_MS, limit)),
    );
    const through = allowed(hits, limit);
    // Shares leased and not used are lost to the window, a quarter of what was left at most.
    expect(through.length).toBeLessThanOrEqual(limit);
    expect(through.length).toBeGreaterThanOrEqual(limit - Math.ceil(limit / 4));
    expect(new Set(through.map(({ count }) => count)).size).toBe(through.length);
    expect(Number(await clients[0]!.get(key))).toBeLessThanOrEqual(300);
  });

  it('should count exactly, one hit per round trip, near the limit', async () => {
    const key = freshKey();
    const counts: number[] = [];
    for (let i = 0; i < 8; i++) counts.push((await (i % 2 === 0 ? a : b).hit(key, MINUTE_MS, 6)).count);
    expect(counts.slice(0, 6)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(counts.slice(6).every((count) => count > 6)).toBe(true);
  });

  it('should make far fewer round trips than hits on a hot key, and still count every hit', async () => {
    const key = freshKey();
    const client = clients[0]! as Redis & { takeBudget: (...args: unknown[]) => Promise<number[]> };
    const roundTrips = vi.spyOn(client, 'takeBudget');
    const counts: number[] = [];
    for (let i = 0; i < 2_000; i++) counts.push((await a.hit(key, MINUTE_MS, 1_000_000)).count);
    expect(counts).toEqual(Array.from({ length: 2_000 }, (_, i) => i + 1));
    expect(roundTrips.mock.calls.length).toBeLessThan(200);
    // What Redis holds covers every hit counted (and the rest of the share leased last).
    expect(Number(await client.get(key))).toBeGreaterThanOrEqual(2_000);
    roundTrips.mockRestore();
  });

  it('should start a new budget when the window ends', async () => {
    const key = freshKey();
    const windowMs = 300;
    const first = await Promise.all(Array.from({ length: 5 }, () => a.hit(key, windowMs, 3)));
    expect(allowed(first, 3)).toHaveLength(3);
    // The window is time itself: nothing to await but its end.
    await sleep(windowMs + 50);
    expect((await b.hit(key, windowMs, 3)).count).toBe(1);
    expect((await a.hit(key, windowMs, 3)).count).toBe(2);
  });
});
