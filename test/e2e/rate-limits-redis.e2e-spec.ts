import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { Agent } from 'node:http';
import { Redis } from 'ioredis';
import type { Response } from 'supertest';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { RedisService } from '../../src/common/redis/redis.service.js';
import { signedIn } from '../factories/auth.js';
import { ThrowawayRedis } from '../setup/redis-server.js';
import {
  describeWithSharedServices,
  startTestApp,
  startTestCluster,
  TEST_REDIS_URL,
  type TestApp,
  type TestAppOptions,
  type TestCluster,
} from '../setup/test-app.js';
import { expectProblem } from '../support/problem-details.js';
import { expectAllowed, expectRateLimitHeaders, expectThrottled } from '../support/rate-limit-headers.js';

/** A public route anonymous callers may read: every request to it counts against the address. */
const PUBLIC_LIST = '/api/v1/resources';
/** Where these tests' requests come from (unless one says otherwise): one anonymous bucket per app. */
const ANONYMOUS_COUNTER = 'counter:rate:anonymous:127.0.0.1';
const RECONNECT_WITHIN_MS = 10_000;
/** How long a request may take while Redis hangs: the app gives up on it after a second. */
const ANSWER_WITHIN_MS = 5_000;

/** Keys of its own for each app or cluster: the counters of one must not leak into another's. */
const uniquePrefix = () => `test:rate:${randomBytes(6).toString('hex')}:`;

/** The Redis client an app counts with. */
function redisClientOf(t: TestApp): Redis {
  const client = t.app.get(RedisService).client;
  if (!client) throw new Error('the app has no Redis client');
  return client;
}

/** Resolves once the app's Redis client is connected again, or fails after RECONNECT_WITHIN_MS. */
async function untilReconnected(t: TestApp): Promise<void> {
  const client = redisClientOf(t);
  if (client.status === 'ready') return;
  await once(client, 'ready', { signal: AbortSignal.timeout(RECONNECT_WITHIN_MS) });
}

/**
 * Every app this file started. nestjs-pino keeps one root logger per process, built by the
 * first app that boots, so every app of this file logs into the first one's capture
 * (test/setup/test-app.ts): a line can be found there, but not told apart by instance.
 */
const started: TestApp[] = [];
const boot = async (env: Record<string, string>, options?: TestAppOptions) => {
  const t = await startTestApp(env, options);
  started.push(t);
  return t;
};

/** What every app of this file has logged, in the first one's capture. */
const fileLogLines = (): string[] => started[0]?.logs.lines ?? [];

/** How many lines the apps of this file have logged so far. */
const logMark = (): number => fileLogLines().length;

/**
 * Whether any app of this file logged (after the mark `since`, when given), at `level` or above
 * (pino: 30 info, 40 warn, 50 error), a line whose `msg` starts with `msg`.
 */
function logged(level: number, msg: string, since = 0): boolean {
  return fileLogLines()
    .slice(since)
    .some((line) => {
      const entry = JSON.parse(line) as { level?: number; msg?: string };
      return (entry.level ?? 0) >= level && entry.msg?.startsWith(msg) === true;
    });
}

/** The count Redis holds for a key of an app (or cluster) with `keyPrefix`; null when absent. */
async function countInRedis(url: string, keyPrefix: string, key: string): Promise<number | null> {
  const reader = new Redis(url, { keyPrefix, lazyConnect: true, maxRetriesPerRequest: 0 });
  try {
    await reader.connect();
    const value = await reader.get(key);
    return value === null ? null : Number(value);
  } finally {
    reader.disconnect();
  }
}

const tally = (responses: Response[]) =>
  responses.reduce<Record<number, number>>(
    (counts, res) => ({ ...counts, [res.status]: (counts[res.status] ?? 0) + 1 }),
    {},
  );

describe.each([
  { store: 'in memory', env: {} as Record<string, string> },
  // Without a Redis here, global setup has said so; CI always has one.
  ...(inject('sharedServicesMissing')
    ? []
    : [
        {
          store: 'on Redis',
          env: { REDIS_URL: TEST_REDIS_URL, REDIS_KEY_PREFIX: uniquePrefix() } as Record<string, string>,
        },
      ]),
])('rate limits counted $store, under concurrency (RATE_LIMIT_ANON=10/min)', ({ env }) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await boot({ ...env, RATE_LIMIT_ANON: '10/min' });
  });
  afterAll(() => t?.close());

  it('should let exactly 10 of 50 parallel requests through, each with its own RateLimit-Remaining', async () => {
    const responses = await Promise.all(Array.from({ length: 50 }, () => t.http.get(PUBLIC_LIST)));

    expect(tally(responses)).toEqual({ 200: 10, 429: 40 });
    const allowed = responses.filter((res) => res.status === 200);
    const remaining = allowed.map((res) => expectRateLimitHeaders(res, { limit: 10 }).remaining);
    expect(remaining.sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (const res of responses.filter((r) => r.status === 429)) expectThrottled(res, { limit: 10, name: 'anonymous' });

    if (env.REDIS_URL) {
      // Counted by Redis up to the limit (refusals past it are answered from what the
      // instance learnt): none fell back to this instance's memory.
      expect(await countInRedis(env.REDIS_URL, t.config.redis.keyPrefix, ANONYMOUS_COUNTER)).toBeGreaterThanOrEqual(10);
      expect(logged(50, 'redis counters unavailable')).toBe(false);
    } else {
      expect(t.app.get(RedisService).enabled).toBe(false);
    }
  });
});

describeWithSharedServices('rate limits of two instances on one Redis (RATE_LIMIT_ANON=6/min)', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await startTestCluster(2, { RATE_LIMIT_ANON: '6/min', REDIS_KEY_PREFIX: uniquePrefix() });
    started.push(...cluster.apps);
  });
  afterAll(() => cluster?.close());

  it('should let 6 requests through in total, alternating between the instances, then refuse on both', async () => {
    const [a, b] = cluster.apps as [TestApp, TestApp];
    const responses: Response[] = [];
    for (let i = 0; i < 12; i++) responses.push(await (i % 2 === 0 ? a : b).http.get(PUBLIC_LIST));

    expect(responses.map((res) => res.status)).toEqual([200, 200, 200, 200, 200, 200, 429, 429, 429, 429, 429, 429]);
    responses.slice(0, 6).forEach((res, i) => expectAllowed(res, { limit: 6, remaining: 5 - i }));
    for (const res of responses.slice(6)) expectThrottled(res, { limit: 6, name: 'anonymous' });
  });
});

describeWithSharedServices('rate limits while Redis is down, and after it is back (RATE_LIMIT_ANON=4/min)', () => {
  const keyPrefix = uniquePrefix();
  let redis: ThrowawayRedis;
  const env = () => ({ REDIS_URL: redis.url, REDIS_KEY_PREFIX: keyPrefix, RATE_LIMIT_ANON: '4/min' });
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    redis = await ThrowawayRedis.start();
  });
  // Two instances of one deployment (one hook each: booting is slow on the embedded database).
  beforeAll(async () => {
    a = await boot(env());
  });
  beforeAll(async () => {
    b = await boot(env(), { database: a.database });
  });
  afterAll(async () => {
    // A client waiting for a Redis that never returns would hold up the shutdown.
    if (redis?.running) redis.thaw();
    else if (redis) await redis.start();
    await Promise.all([a?.close(), b?.close()]);
    await redis?.stop();
  });

  const flood = async (t: TestApp, limit: number) => {
    for (let remaining = limit - 1; remaining >= 0; remaining--) {
      expectAllowed(await t.http.get(PUBLIC_LIST), { limit, remaining });
    }
    expectThrottled(await t.http.get(PUBLIC_LIST), { limit, name: 'anonymous' });
  };

  it('should count per instance in memory while Redis is down, never 5xx, then share counts again', async () => {
    const { tokens } = await signedIn(a.http);
    expectAllowed(await a.http.get(PUBLIC_LIST), { limit: 4, remaining: 1 });
    expect(await countInRedis(redis.url, keyPrefix, ANONYMOUS_COUNTER)).toBe(3);

    const connectionError = once(redisClientOf(a), 'error', { signal: AbortSignal.timeout(RECONNECT_WITHIN_MS) });
    connectionError.catch(() => undefined); // awaited below; a test failing before then has said enough
    const beforeOutage = logMark();
    await redis.stop();

    // Authentication is still enforced, and the refusal still counted (a fresh count, in memory).
    const guess = await a.http.get('/api/v1/auth/me').set('Authorization', 'Bearer not-a-real-token');
    expectProblem(guess, 401);
    expectRateLimitHeaders(guess, { limit: 4, remaining: 3 });
    for (let remaining = 2; remaining >= 0; remaining--) {
      expectAllowed(await a.http.get(PUBLIC_LIST), { limit: 4, remaining });
    }
    expectThrottled(await a.http.get(PUBLIC_LIST), { limit: 4, name: 'anonymous' });
    // Each instance has its own memory, hence its own count, until Redis is back.
    await flood(b, 4);
    // An address past its budget is refused before its credential is looked up, a valid one too.
    const me = await a.http.get('/api/v1/auth/me').set('Authorization', `Bearer ${tokens.access_token}`);
    expectThrottled(me, { limit: 4, name: 'anonymous' });

    await connectionError;
    expect(logged(50, 'redis connection error', beforeOutage)).toBe(true);
    expect(logged(50, 'redis counters unavailable', beforeOutage)).toBe(true);

    const beforeRestart = logMark();
    await redis.start();
    await Promise.all([untilReconnected(a), untilReconnected(b)]);
    expect(logged(30, 'redis connection restored', beforeRestart)).toBe(true);

    // The restarted Redis starts from zero, and counts for both instances again.
    const responses: Response[] = [];
    for (let i = 0; i < 6; i++) responses.push(await (i % 2 === 0 ? a : b).http.get(PUBLIC_LIST));
    expect(responses.map((res) => res.status)).toEqual([200, 200, 200, 200, 429, 429]);
    responses.slice(0, 4).forEach((res, i) => expectAllowed(res, { limit: 4, remaining: 3 - i }));
    for (const res of responses.slice(4)) expectThrottled(res, { limit: 4, name: 'anonymous' });
    // Every request let through, and the first refusal; later ones are answered by an instance
    // that has seen the window's budget spent.
    expect(await countInRedis(redis.url, keyPrefix, ANONYMOUS_COUNTER)).toBeGreaterThanOrEqual(5);
  });

  it('should answer from memory within a bound while Redis hangs with its connection open', async () => {
    // A client of its own (a fresh address, so a fresh bucket wherever it is counted).
    const agent = new Agent({ localAddress: '127.0.0.21' });
    const beforeFreeze = logMark();
    redis.freeze();
    try {
      const res = await a.http.get(PUBLIC_LIST).agent(agent).timeout(ANSWER_WITHIN_MS);
      expectAllowed(res, { limit: 4, remaining: 3 });
      expect(logged(50, 'redis counters unavailable', beforeFreeze)).toBe(true);
    } finally {
      redis.thaw();
    }
    // Redis ran the increment it held when it woke, and the client did not take that late
    // answer for the next one's: this request is the second on Redis.
    expectAllowed(await a.http.get(PUBLIC_LIST).agent(agent), { limit: 4, remaining: 2 });
  });
});
