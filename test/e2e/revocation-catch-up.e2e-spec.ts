import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import request from 'supertest';
import type TestAgent from 'supertest/lib/agent.js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { generateKeySet } from '../../src/modules/auth/jwt/signing-keys.js';
import { signedIn } from '../factories/auth.js';
import { ThrowawayRedis } from '../setup/redis-server.js';
import { ServerProcess, runOnce } from '../setup/server-process.js';
import { LOCAL_POSTGRES } from '../setup/services.js';
import { describeWithSharedServices, TestDatabase } from '../setup/test-app.js';

const BOOT_WITHIN_MS = 180_000;
const secret = () => randomBytes(32).toString('base64url');
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

/** Polls until `probe` no longer answers 200; the time it took, or a failure after `withinMs`. */
async function refusedWithin(withinMs: number, probe: () => Promise<number>): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < withinMs) {
    if ((await probe()) !== 200) return Date.now() - started;
    await sleep(50);
  }
  throw new Error(`still accepted after ${withinMs} ms`);
}

/**
 * Revocation does not depend on Redis delivering a message. A and B share a Redis (which the
 * test stops) and replay the revocation log only on a long timer, so B can learn of a
 * revocation made during the outage only by catching up when its subscription comes back.
 * C never hears A at all (another key prefix: another channel, as if every message were
 * lost) and replays the log every second.
 */
describeWithSharedServices('durable revocation across instances', () => {
  let database: TestDatabase;
  let redis: ThrowawayRedis;
  let running: ServerProcess[] = [];
  let onA: TestAgent;
  let onB: TestAgent;
  let onC: TestAgent;
  let env: Record<string, string>;

  beforeAll(async () => {
    database = (await TestDatabase.create(process.env.DATABASE_URL || LOCAL_POSTGRES)).retain();
    redis = await ThrowawayRedis.start();
    env = {
      NODE_ENV: 'test',
      LOG_LEVEL: 'error',
      DATA_DIR: ':memory:',
      DATABASE_URL: database.url,
      DB_MIGRATIONS_RUN: 'false',
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: 'deployment-1:',
      // One deployment: one issuer and audience, whichever instance signed.
      PUBLIC_URL: 'http://127.0.0.1:9',
      JWT_KEYS: JSON.stringify(await generateKeySet()),
      CSRF_SECRET: secret(),
      API_KEY_PEPPER: secret(),
      OAUTH_COOKIE_KEYS: secret(),
      RATE_LIMIT_ANON: '100000/min',
      RATE_LIMIT_AUTH: '100000/min',
      REVOCATION_SYNC_INTERVAL: '10m',
      SHUTDOWN_GRACE: '0',
    };
    await runOnce('dist/db/run-migrations.js', [], { env });
    const started = await Promise.allSettled([
      ServerProcess.start('A', env),
      ServerProcess.start('B', env),
      ServerProcess.start('C', { ...env, REDIS_KEY_PREFIX: 'deployment-2:', REVOCATION_SYNC_INTERVAL: '1s' }),
    ]);
    running = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    for (const result of started) if (result.status === 'rejected') throw result.reason;
    const [a, b, c] = running as [ServerProcess, ServerProcess, ServerProcess];
    [onA, onB, onC] = [request(a.origin), request(b.origin), request(c.origin)];
  }, BOOT_WITHIN_MS);

  afterAll(async () => {
    const stopped = await Promise.allSettled(running.map((instance) => instance.stop()));
    await redis?.stop();
    await database?.release();
    for (const result of stopped) if (result.status === 'rejected') throw result.reason;
  });

  it('should refuse on B, once Redis is back, what A revoked while Redis was down', async () => {
    const { tokens } = await signedIn(onA);
    const key = await onA
      .post('/api/v1/api-keys')
      .set(bearer(tokens.access_token))
      .send({ name: 'ci', scopes: ['resources:read'] })
      .expect(201);
    const pat = await onA
      .post('/api/v1/auth/tokens')
      .set(bearer(tokens.access_token))
      .send({ name: 'cli' })
      .expect(201);
    const jwtOnB = async () => (await onB.get('/api/v1/auth/me').set(bearer(tokens.access_token))).status;
    const keyOnB = async () => (await onB.get('/api/v1/auth/me').set({ 'X-API-Key': key.body.key as string })).status;
    const patOnB = async () =>
      (await onB.get('/api/v1/auth/me').set({ Authorization: `Token ${pat.body.token as string}` })).status;
    // B verified (and cached) all three.
    expect(await jwtOnB()).toBe(200);
    expect(await keyOnB()).toBe(200);
    expect(await patOnB()).toBe(200);

    await redis.stop();
    await onA
      .delete(`/api/v1/api-keys/${key.body.id as string}`)
      .set(bearer(tokens.access_token))
      .expect(204);
    await onA
      .delete(`/api/v1/auth/tokens/${pat.body.id as string}`)
      .set(bearer(tokens.access_token))
      .expect(204);
    await onA
      .post('/api/v1/auth/logout')
      .set(bearer(tokens.access_token))
      .send({ refresh_token: tokens.refresh_token })
      .expect(204);
    await redis.start();

    // ioredis reconnects with a back-off of up to 2 s; the catch-up runs as soon as it is back.
    await refusedWithin(10_000, jwtOnB);
    await refusedWithin(1_000, keyOnB);
    await refusedWithin(1_000, patOnB);
  });

  it('should refuse on C, which never hears A, within its sync interval', async () => {
    const { tokens } = await signedIn(onA);
    const pat = await onA
      .post('/api/v1/auth/tokens')
      .set(bearer(tokens.access_token))
      .send({ name: 'cli' })
      .expect(201);
    const jwtOnC = async () => (await onC.get('/api/v1/auth/me').set(bearer(tokens.access_token))).status;
    const patOnC = async () =>
      (await onC.get('/api/v1/auth/me').set({ Authorization: `Token ${pat.body.token as string}` })).status;
    expect(await jwtOnC()).toBe(200);
    expect(await patOnC()).toBe(200);
    await onA
      .delete(`/api/v1/auth/tokens/${pat.body.id as string}`)
      .set(bearer(tokens.access_token))
      .expect(204);
    await onA
      .post('/api/v1/auth/logout')
      .set(bearer(tokens.access_token))
      .send({ refresh_token: tokens.refresh_token })
      .expect(204);
    // REVOCATION_SYNC_INTERVAL is 1 s on C: well within 3 s, even on a busy machine.
    await refusedWithin(3_000, patOnC);
    await refusedWithin(3_000, jwtOnC);
  });

  it('should be right from its first request on a fresh instance', async () => {
    const { tokens } = await signedIn(onA);
    const other = await signedIn(onA);
    await onA
      .post('/api/v1/auth/logout')
      .set(bearer(tokens.access_token))
      .send({ refresh_token: tokens.refresh_token })
      .expect(204);
    // Started after the revocation, with the timer far off and no message to hear.
    const fresh = await ServerProcess.start('D', env);
    running.push(fresh);
    expect((await request(fresh.origin).get('/api/v1/auth/me').set(bearer(tokens.access_token))).status).toBe(401);
    // A token nobody revoked works there: the refusal above is the revocation's.
    expect((await request(fresh.origin).get('/api/v1/auth/me').set(bearer(other.tokens.access_token))).status).toBe(
      200,
    );
  });
});
