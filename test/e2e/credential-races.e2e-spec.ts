import { afterAll, beforeAll, expect, it } from 'vitest';
import { logIn, signUp } from '../factories/auth.js';
import { strongPassword } from '../factories/users.js';
import { describeWithSharedServices, startTestCluster, type TestApp, type TestCluster } from '../setup/test-app.js';

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

/**
 * Races that only a real Postgres shows (the embedded database serializes connections): each
 * test fires the race many times at once and checks that no credential outlives the event
 * that should have ended it.
 */
describeWithSharedServices('credential races, on the real Postgres', () => {
  let cluster: TestCluster;
  let t: TestApp;
  beforeAll(async () => {
    cluster = await startTestCluster(1, {
      MAX_API_KEYS_PER_USER: '3',
      MAX_PERSONAL_TOKENS_PER_USER: '3',
      // Many sign-ins of one account at once: the lockout would count them as guesses.
      LOCKOUT_MAX_FAILURES: '1000',
      LOCKOUT_MAX_FAILURES_PER_ADDRESS: '100000',
    });
    [t] = cluster.apps as [TestApp];
  });
  afterAll(() => cluster?.close());

  it('should leave no live sign-in from a login that straddles a password change', async () => {
    const survivors: string[] = [];
    for (let round = 0; round < 8; round++) {
      const user = await signUp(t.http);
      const { access_token } = await logIn(t.http, user);
      const logins = Array.from({ length: 8 }, () =>
        t.http.post('/api/v1/auth/login').send({ email: user.email, password: user.password }),
      );
      const change = t.http
        .post('/api/v1/auth/password')
        .set(bearer(access_token))
        .send({ currentPassword: user.password, newPassword: strongPassword() });
      const [changed, ...answers] = await Promise.all([change, ...logins]);
      expect(changed.status).toBe(204);
      // Every pair a login got with the old password must be dead once the change answered.
      for (const answer of answers.filter((res) => res.status === 200)) {
        const refreshed = await t.http.post('/api/v1/auth/refresh').send({ refresh_token: answer.body.refresh_token });
        const me = await t.http.get('/api/v1/auth/me').set(bearer(answer.body.access_token as string));
        if (refreshed.status === 200 || me.status === 200) survivors.push(`round ${round}`);
      }
    }
    expect(survivors).toEqual([]);
  });

  it('should not let a rotation racing a logout leave a live token behind', async () => {
    const survivors: string[] = [];
    for (let round = 0; round < 20; round++) {
      const user = await signUp(t.http);
      const pair = await logIn(t.http, user);
      const [rotated] = await Promise.all([
        t.http.post('/api/v1/auth/refresh').send({ refresh_token: pair.refresh_token }),
        t.http.post('/api/v1/auth/logout').send({ refresh_token: pair.refresh_token }),
      ]);
      if (rotated.status !== 200) continue;
      const again = await t.http.post('/api/v1/auth/refresh').send({ refresh_token: rotated.body.refresh_token });
      const me = await t.http.get('/api/v1/auth/me').set(bearer(rotated.body.access_token as string));
      if (again.status === 200 || me.status === 200) survivors.push(`round ${round}`);
    }
    expect(survivors).toEqual([]);
  });

  it('should rotate a refresh token exactly once among eight concurrent refreshes', async () => {
    const user = await signUp(t.http);
    const pair = await logIn(t.http, user);
    const answers = await Promise.all(
      Array.from({ length: 8 }, () => t.http.post('/api/v1/auth/refresh').send({ refresh_token: pair.refresh_token })),
    );
    // One wins; the others are replays of a rotated token, which end the family (the winner's too).
    expect(answers.filter((res) => res.status === 200)).toHaveLength(1);
    const winner = answers.find((res) => res.status === 200);
    const me = await t.http.get('/api/v1/auth/me').set(bearer(winner?.body.access_token as string));
    expect(me.status).toBe(401);
  });

  it('should hold each user to the credential caps under concurrent creation', async () => {
    const capped = t;
    {
      const user = await signUp(capped.http);
      const { access_token } = await logIn(capped.http, user);
      const keys = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          capped.http
            .post('/api/v1/api-keys')
            .set(bearer(access_token))
            .send({ name: `k${i}`, scopes: [] }),
        ),
      );
      const tokens = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          capped.http
            .post('/api/v1/auth/tokens')
            .set(bearer(access_token))
            .send({ name: `t${i}` }),
        ),
      );
      for (const answers of [keys, tokens]) {
        expect(answers.filter((res) => res.status === 201)).toHaveLength(3);
        for (const refused of answers.filter((res) => res.status !== 201)) {
          expect(refused.status).toBe(409);
          expect(refused.body.type).toBe('urn:problem:credential-limit');
        }
      }
      // A revoked key frees its place.
      const freed = keys.find((res) => res.status === 201)?.body.id as string;
      await capped.http.delete(`/api/v1/api-keys/${freed}`).set(bearer(access_token)).expect(204);
      await capped.http.post('/api/v1/api-keys').set(bearer(access_token)).send({ name: 'k', scopes: [] }).expect(201);
    }
  });
});
