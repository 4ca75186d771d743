import { setTimeout as sleep } from 'node:timers/promises';
import type TestAgent from 'supertest/lib/agent.js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { logIn, signedIn, signUp } from '../factories/auth.js';
import { strongPassword } from '../factories/users.js';
import { describeWithSharedServices, startTestCluster, type TestApp, type TestCluster } from '../setup/test-app.js';
import { expectProblem } from '../support/problem-details.js';

/** The contract says "at once, on every instance"; a second is the bound we hold it to. */
const WITHIN_MS = 1_000;
const POLL_EVERY_MS = 20;

function me(http: TestAgent, accessToken: string) {
  return http.get('/api/v1/auth/me').set('Authorization', `Bearer ${accessToken}`);
}

/**
 * Polls until `http` refuses the token: how long after `since` (the revocation's answer)
 * that was, response time included, and after how many requests. The token must keep
 * working (200) until then: anything else is a different failure.
 */
async function untilRefused(http: TestAgent, accessToken: string, since: number): Promise<string> {
  for (let polls = 1; ; polls++) {
    const res = await me(http, accessToken);
    const elapsed = performance.now() - since;
    if (res.status === 401) return `${elapsed.toFixed(1)} ms (poll ${polls})`;
    expect(res.status).toBe(200);
    if (elapsed >= WITHIN_MS) expect.fail(`the token still worked ${Math.round(elapsed)} ms after it was revoked`);
    await sleep(POLL_EVERY_MS);
  }
}

/**
 * Instances of one deployment share a database and Redis, and nothing else: a JWT is
 * checked in memory, so only the Redis broadcast tells B what A revoked, and a lockout
 * counted in one instance's memory would let an attacker spread guesses over instances.
 */
describeWithSharedServices('two instances behind one load balancer', () => {
  let cluster: TestCluster;
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    cluster = await startTestCluster(2, { LOCKOUT_MAX_FAILURES: '3' });
    [a, b] = cluster.apps as [TestApp, TestApp];
  });
  afterAll(() => cluster?.close());

  it('should refuse on B, within a second, an access token logged out on A', async ({ annotate }) => {
    const { tokens } = await signedIn(a.http);
    await me(b.http, tokens.access_token).expect(200);
    await a.http
      .post('/api/v1/auth/logout')
      .set('Authorization', `Bearer ${tokens.access_token}`)
      .send({ refresh_token: tokens.refresh_token })
      .expect(204);
    const took = await untilRefused(b.http, tokens.access_token, performance.now());
    await annotate(`B refused the token ${took} after A answered the logout`);
    expectProblem(await b.http.post('/api/v1/auth/refresh').send({ refresh_token: tokens.refresh_token }), 401);
  });

  it('should refuse on B, within a second, a token issued before a password change on A', async ({ annotate }) => {
    const { user, tokens } = await signedIn(a.http);
    await me(b.http, tokens.access_token).expect(200);
    const newPassword = strongPassword();
    await a.http
      .post('/api/v1/auth/password')
      .set('Authorization', `Bearer ${tokens.access_token}`)
      .send({ currentPassword: user.password, newPassword })
      .expect(204);
    const took = await untilRefused(b.http, tokens.access_token, performance.now());
    await annotate(`B refused the token ${took} after A answered the password change`);
    const fresh = await logIn(b.http, { email: user.email, password: newPassword });
    await me(a.http, fresh.access_token).expect(200);
  });

  it('should count sign-in failures across both instances', async () => {
    const user = await signUp(a.http);
    const wrong = { email: user.email, password: 'Not-The-Password-123' };
    // Alone, neither instance reaches LOCKOUT_MAX_FAILURES=3: A sees two failures, B one.
    for (const instance of [a, b, a]) expectProblem(await instance.http.post('/api/v1/auth/login').send(wrong), 401);
    for (const instance of [b, a]) {
      const res = await instance.http.post('/api/v1/auth/login').send({ email: user.email, password: user.password });
      expectProblem(res, 429);
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    }
  });
});

describeWithSharedServices('a restart of every instance', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await startTestCluster(2);
  });
  afterAll(() => cluster?.close());

  it('should still refuse a token revoked before it, and sign in afresh', async () => {
    const [a, b] = cluster.apps as [TestApp, TestApp];
    const { user, tokens } = await signedIn(a.http);
    // Not revoked: C accepting it shows that C's 401 below is the revocation, not a new key.
    const kept = await logIn(b.http, user);
    await a.http
      .post('/api/v1/auth/logout')
      .set('Authorization', `Bearer ${tokens.access_token}`)
      .send({ refresh_token: tokens.refresh_token })
      .expect(204);
    await Promise.all([a.close(), b.close()]);

    // C hears no broadcast from before it started: what it knows, it read from the database.
    const c = await cluster.start();
    expectProblem(await me(c.http, tokens.access_token), 401);
    expectProblem(await c.http.post('/api/v1/auth/refresh').send({ refresh_token: tokens.refresh_token }), 401);
    await me(c.http, kept.access_token).expect(200);
    const fresh = await logIn(c.http, user);
    await me(c.http, fresh.access_token).expect(200);
  });
});
