import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lifecycle } from '../../src/modules/health/lifecycle.js';
import { ThrowawayRedis } from '../setup/redis-server.js';
import { describeWithSharedServices, startTestApp, type TestApp } from '../setup/test-app.js';
import { expectProblem } from '../support/problem-details.js';

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

  it('should report Redis up while it answers, and 503 once it stops', async () => {
    const res = await t.http.get('/health/ready').expect(200);
    expect(res.body.details.redis.status).toBe('up');
    await redis.stop();
    expectProblem(await t.http.get('/health/ready'), 503);
  });
});
