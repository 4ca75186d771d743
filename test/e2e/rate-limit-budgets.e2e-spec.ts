import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logIn, signedInAdmin, signUp } from '../factories/auth.js';
import { startTestApp, type TestApp } from '../setup/test-app.js';

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const USER_LIMIT = 6;

/** A user's budget is theirs, whatever credential spends it: API keys do not lift it. */
describe('rate-limit budgets per owner', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ RATE_LIMIT_USER: `${USER_LIMIT}/min` });
  });
  afterAll(() => t?.close());

  it('should refuse a key asked for above its owner’s limit with 400, and let api-keys:manage set one', async () => {
    const user = await signUp(t.http);
    const { access_token } = await logIn(t.http, user);
    const above = await t.http
      .post('/api/v1/api-keys')
      .set(bearer(access_token))
      .send({ name: 'greedy', scopes: [], rateLimitPerMinute: USER_LIMIT + 1 });
    expect(above.status).toBe(400);
    expect(above.body.errors).toEqual([
      { field: 'rateLimitPerMinute', message: expect.stringContaining(`${USER_LIMIT}`) },
    ]);
    // Without a limit asked for, the key gets at most its owner's.
    const plain = await t.http.post('/api/v1/api-keys').set(bearer(access_token)).send({ name: 'plain', scopes: [] });
    expect(plain.body.rateLimitPerMinute).toBe(USER_LIMIT);

    const admin = await signedInAdmin(t);
    const service = await t.http
      .post('/api/v1/api-keys')
      .set(bearer(admin.tokens.access_token))
      .send({ name: 'ingest', scopes: [], rateLimitPerMinute: 10_000 });
    expect(service.status).toBe(201);
    expect(service.body.rateLimitPerMinute).toBe(10_000);
  });

  it('should count a key’s traffic toward its owner’s budget', async () => {
    const user = await signUp(t.http);
    const { access_token } = await logIn(t.http, user);
    const key = await t.http.post('/api/v1/api-keys').set(bearer(access_token)).send({ name: 'k', scopes: [] });
    const keyRequests = [];
    for (let i = 0; i < USER_LIMIT / 2; i++) {
      keyRequests.push((await t.http.get('/api/v1/auth/me').set({ 'X-API-Key': key.body.key as string })).status);
    }
    expect(keyRequests).toEqual(Array(USER_LIMIT / 2).fill(200));
    // The key's own bucket has room left; the owner's has only what the key did not spend.
    const jwtRequests = [];
    for (let i = 0; i < USER_LIMIT; i++) {
      jwtRequests.push((await t.http.get('/api/v1/auth/me').set(bearer(access_token))).status);
    }
    // Two requests went to creating the key and signing in: what is left of six is one.
    expect(jwtRequests.filter((status) => status === 200).length).toBeLessThan(USER_LIMIT / 2 + 1);
    expect(jwtRequests.at(-1)).toBe(429);
    expect((await t.http.get('/api/v1/auth/me').set({ 'X-API-Key': key.body.key as string })).status).toBe(429);
  });
});
