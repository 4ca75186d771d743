import { it, expect } from 'vitest';
import { startTestApp } from '../setup/test-app.js';
import { ThrowawayRedis } from '../setup/redis-server.js';

it('frozen redis', async () => {
  const redis = await ThrowawayRedis.start();
  const t = await startTestApp({ REDIS_URL: redis.url, REDIS_KEY_PREFIX: 'probe:', RATE_LIMIT_ANON: '4/min' });
  expect((await t.http.get('/api/v1/resources')).status).toBe(200);
  const pid = (redis as unknown as { process: { pid: number } }).process.pid;
  process.kill(pid, 'SIGSTOP');
  const t0 = performance.now();
  const res = await t.http.get('/api/v1/resources').timeout(20_000).catch((e: Error) => e);
  console.log('PROBE', 'status' in res ? res.status : res.message, Math.round(performance.now() - t0), 'ms');
  process.kill(pid, 'SIGCONT');
  await t.close();
  await redis.stop();
}, 120_000);
