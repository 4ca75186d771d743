import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logIn, signUp, type TokenPair } from '../factories/auth.js';
import { startSession } from '../factories/session.js';
import { startTestApp, type TestApp } from '../setup/test-app.js';
import { bearer } from '../support/http.js';
import { expectProblem } from '../support/problem-details.js';

const CAP = 3;

/**
 * docs/auth-flows.md: a user holds at most MAX_SIGN_INS_PER_USER live JWT sign-ins (refresh
 * families) and as many cookie sessions; a sign-in past it ends the oldest. Without the bound,
 * signing in again and again grows the account's rows and its credential inventory, which is
 * answered whole, without end.
 */
describe('MAX_SIGN_INS_PER_USER', () => {
  let t: TestApp;
  beforeAll(async () => {
    // Parallel sign-ins each reserve a lockout attempt before their password checks out.
    t = await startTestApp({ MAX_SIGN_INS_PER_USER: String(CAP), LOCKOUT_MAX_FAILURES: '100' });
  });
  afterAll(() => t.close());

  async function heldOfKind(pair: TokenPair, kind: 'refresh-family' | 'session'): Promise<number> {
    const res = await t.http.get('/api/v1/auth/credentials').set(bearer(pair)).expect(200);
    return (res.body.data as { kind: string }[]).filter((credential) => credential.kind === kind).length;
  }

  it('should end the oldest JWT sign-in, its access token included, when one more signs in', async () => {
    const user = await signUp(t.http);
    const pairs: TokenPair[] = [];
    for (let i = 0; i <= CAP; i += 1) pairs.push(await logIn(t.http, user));
    const [oldest, ...kept] = pairs as [TokenPair, ...TokenPair[]];
    expectProblem(await t.http.get('/api/v1/auth/me').set(bearer(oldest)), 401);
    expectProblem(await t.http.post('/api/v1/auth/refresh').send({ refresh_token: oldest.refresh_token }), 401);
    for (const pair of kept) await t.http.get('/api/v1/auth/me').set(bearer(pair)).expect(200);
    expect(await heldOfKind(kept[0]!, 'refresh-family')).toBe(CAP);
    // A refresh continues a sign-in: it ends none.
    const refreshed = await t.http.post('/api/v1/auth/refresh').send({ refresh_token: kept[0]!.refresh_token });
    expect(refreshed.status).toBe(200);
    for (const pair of [refreshed.body as TokenPair, ...kept.slice(1)]) {
      await t.http.get('/api/v1/auth/me').set(bearer(pair)).expect(200);
    }
  });

  it('should hold no more than the cap after sign-ins that race', async () => {
    // Several users at once, so that sign-ins of one user overlap in the database (each waits
    // for its password hash first, one per core).
    const users = await Promise.all(Array.from({ length: 3 }, () => signUp(t.http)));
    const pairsOf = await Promise.all(
      users.map((user) => Promise.all(Array.from({ length: 4 * CAP }, () => logIn(t.http, user)))),
    );
    for (const pairs of pairsOf) {
      const working: TokenPair[] = [];
      for (const pair of pairs) {
        const res = await t.http.post('/api/v1/auth/refresh').send({ refresh_token: pair.refresh_token });
        if (res.status === 200) working.push(res.body as TokenPair);
        else expectProblem(res, 401);
      }
      expect(working).toHaveLength(CAP);
      expect(await heldOfKind(working[0]!, 'refresh-family')).toBe(CAP);
    }
  });

  it('should end the oldest cookie session when one more starts', async () => {
    const user = await signUp(t.http);
    const sessions = [];
    for (let i = 0; i <= CAP; i += 1) sessions.push(await startSession(t.http, user));
    const [oldest, ...kept] = sessions;
    expectProblem(await t.http.get('/api/v1/auth/me').set({ Cookie: oldest!.cookie }), 401);
    for (const session of kept) await t.http.get('/api/v1/auth/me').set({ Cookie: session.cookie }).expect(200);
    expect(await heldOfKind(await logIn(t.http, user), 'session')).toBe(CAP);
  });

  it('should hold no more than the cap after sessions that start at once', async () => {
    const users = await Promise.all(Array.from({ length: 3 }, () => signUp(t.http)));
    const sessionsOf = await Promise.all(
      users.map((user) => Promise.all(Array.from({ length: 4 * CAP }, () => startSession(t.http, user)))),
    );
    for (const sessions of sessionsOf) {
      let working = 0;
      for (const session of sessions) {
        const res = await t.http.get('/api/v1/auth/me').set({ Cookie: session.cookie });
        if (res.status === 200) working += 1;
        else expectProblem(res, 401);
      }
      expect(working).toBe(CAP);
    }
  });
});
