import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { MetricsRegistry } from '../../src/common/metrics/metrics-registry.js';
import { CredentialGuard } from '../../src/modules/auth/credential.guard.js';
import { Lifecycle } from '../../src/modules/health/lifecycle.js';
import { signedIn } from '../factories/auth.js';
import { ThrowawayRedis } from '../setup/redis-server.js';
import { SilenceableHop } from '../setup/silenceable-hop.js';
import { describeWithSharedServices, startTestApp, TestDatabase, type TestApp } from '../setup/test-app.js';
import { LOCAL_POSTGRES } from '../setup/services.js';
import { bearer } from '../support/http.js';
import { expectProblem } from '../support/problem-details.js';

// First in the file: nestjs-pino keeps one root logger per process, the first app's, so only
// the first app of a file sees its own log lines in `t.logs`.
describeWithSharedServices('GET /health/ready with Redis configured', () => {
  let redis: ThrowawayRedis;
  let t: TestApp;
  beforeAll(async () => {
    redis = await ThrowawayRedis.start();
    t = await startTestApp({ REDIS_URL: redis.url });
  });
  afterAll(async () => {
    await t?.close();
    await redis?.stop().catch(() => undefined);
  });

  const redisUp = async () =>
    (await t.app.get(MetricsRegistry).registry.getSingleMetric('redis_up')?.get())?.values[0]?.value;

  it('should stay ready with Redis stopped, reporting it degraded in the body, the redis_up gauge and one log line', async () => {
    const res = await t.http.get('/health/ready').expect(200);
    expect(res.body.details.redis).toEqual({ status: 'up' });
    expect(await redisUp()).toBe(1);

    await redis.stop();
    const degraded = await t.http.get('/health/ready');
    expect(degraded.status).toBe(200);
    expect(degraded.body).toMatchObject({ status: 'ok', details: { database: { status: 'up' } } });
    expect(degraded.body.details.redis).toMatchObject({ status: 'degraded', impact: expect.stringMatching(/memory/) });
    expect(await redisUp()).toBe(0);
    // pino writes asynchronously: wait for the line, then check the second probe added none.
    const degradedLines = () => t.logs.lines.filter((line) => line.includes('readiness: redis degraded'));
    const logged = await vi.waitFor(() => {
      expect(degradedLines().length).toBeGreaterThan(0);
      return degradedLines();
    });
    await t.http.get('/health/ready').expect(200);
    expect(degradedLines()).toHaveLength(1);
    expect(JSON.parse(logged[0] as string)).toMatchObject({ level: 40, dependency: 'redis' });
  });
});

describe('GET /health/ready', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('should answer 200 while the database answers, and 503 problem+json once shutdown began', async () => {
    const ready = await t.http.get('/health/ready').expect(200);
    expect(ready.body.details.database.status).toBe('up');
    t.app.get(Lifecycle).beginDraining();
    const draining = await t.http.get('/health/ready');
    expectProblem(draining, 503);
    // Liveness is another question: the process still runs and serves.
    await t.http.get('/health/live').expect(200);
  });
});

describe('GET /health/live', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterEach(() => vi.restoreAllMocks());
  afterAll(() => t.close());

  const livenessCount = async (status: string) =>
    (await t.app.get(MetricsRegistry).httpDuration.get()).values.find(
      (value) =>
        value.metricName === 'http_request_duration_seconds_count' &&
        value.labels.route === '/health/live' &&
        value.labels.status === status,
    )?.value ?? 0;

  it('should answer a probe without a credential before the guard, with the request id, the security headers and its route in metrics', async () => {
    const guard = vi.spyOn(t.app.get(CredentialGuard), 'canActivate');
    const before = await livenessCount('200');
    const res = await t.http.get('/health/live').set('X-Request-Id', 'probe-1').expect(200, { status: 'ok' });
    expect(guard).not.toHaveBeenCalled();
    expect(res.headers['x-request-id']).toBe('probe-1');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['content-security-policy']).toContain("default-src 'none'");
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(await livenessCount('200')).toBe(before + 1);
    const head = await t.http.head('/health/live').expect(200);
    expect(head.text ?? '').toBe('');
  });

  it("should take a probe with a credential through the guard, like any route's: 401 for a bad one, 200 for a good one, 400 for two", async () => {
    const { tokens } = await signedIn(t.http);
    const guard = vi.spyOn(t.app.get(CredentialGuard), 'canActivate');
    const refused = await t.http.get('/health/live').set('X-API-Key', 'abc.def');
    expectProblem(refused, 401);
    expect(await livenessCount('401')).toBeGreaterThan(0);
    await t.http.get('/health/live').set(bearer(tokens)).expect(200, { status: 'ok' });
    await t.http.get('/health/live').set('Cookie', 'sid=stale').expect(401);
    // Two credentials are ambiguous everywhere, never taken for an anonymous probe.
    expectProblem(await t.http.get('/health/live').set(bearer(tokens)).set('X-API-Key', 'abc.def'), 400);
    expect(guard).toHaveBeenCalledTimes(4);
  });
});

describeWithSharedServices('GET /health/ready with Postgres stopped', () => {
  let database: TestDatabase;
  let hop: SilenceableHop;
  let t: TestApp;
  beforeAll(async () => {
    database = await TestDatabase.create(process.env.DATABASE_URL || LOCAL_POSTGRES);
    database.retain();
    hop = await SilenceableHop.start(database.url);
    t = await startTestApp({ DATABASE_URL: hop.url, DB_CONNECT_TIMEOUT: '1s' }, { database });
  });
  afterAll(async () => {
    // Closing flushes the audit buffer: the database must be reachable again.
    hop?.heal();
    await t?.close();
    await hop?.close();
    await database?.release();
  });

  it('should answer 503 problem+json naming the database while Postgres refuses connections', async () => {
    await t.http.get('/health/ready').expect(200);
    hop.refuse();
    const res = await t.http.get('/health/ready');
    expectProblem(res, 503);
    hop.heal();
    await t.http.get('/health/ready').expect(200);
  });
});
