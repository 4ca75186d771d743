import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedIn, signUp } from '../factories/auth.js';
import { cookieHeader, sessionCookies, startSession } from '../factories/session.js';
import { newRegistration } from '../factories/users.js';
import { startTestApp, type TestApp } from '../setup/test-app.js';
import { expectProblem } from '../support/problem-details.js';

describe('Cookie sessions: /api/v1/auth', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  const me = (cookie: string) => t.http.get('/api/v1/auth/me').set('Cookie', cookie);
  const createToken = (headers: Record<string, string>) =>
    t.http.post('/api/v1/auth/tokens').set(headers).send({ name: 'from the browser' });

  /** Asserts that a 401 also told the browser to drop its dead sid cookie. */
  function expectSidCleared(res: Awaited<ReturnType<typeof me>>): void {
    const sid = sessionCookies(res).get('sid');
    expect(sid?.value).toBe('');
    expect(sid?.attributes).toContain('Expires=Thu, 01 Jan 1970 00:00:00 GMT');
  }

  describe('POST /session', () => {
    it('should set an HttpOnly, SameSite=Lax sid cookie and hand out a CSRF token', async () => {
      const user = await signUp(t.http);
      const res = await t.http.post('/api/v1/auth/session').send({ email: user.email, password: user.password });
      expect(res.status).toBe(204);
      const cookies = sessionCookies(res);
      const sid = cookies.get('sid');
      expect(sid?.value).toMatch(/^[A-Za-z0-9_-]{32,}$/);
      expect(sid?.attributes).toEqual(expect.arrayContaining(['HttpOnly', 'SameSite=Lax', 'Path=/']));
      // Plain http in the test environment; an https PUBLIC_URL adds Secure.
      expect(sid?.attributes.map((a) => a.toLowerCase())).not.toContain('secure');
      expect(cookies.get('csrf')?.value).toBeTruthy();
      expect(cookies.get('csrf')?.attributes).toEqual(expect.arrayContaining(['HttpOnly', 'SameSite=Lax', 'Path=/']));
      expect(res.headers['x-csrf-token']).toEqual(expect.any(String));
      expect(res.headers['cache-control']).toBe('no-store');
    });

    it('should refuse a wrong password with 401 and set no session cookie', async () => {
      const user = await signUp(t.http);
      const res = await t.http
        .post('/api/v1/auth/session')
        .send({ email: user.email, password: 'Not-The-Password-123' });
      expectProblem(res, 401);
      expect(sessionCookies(res).has('sid')).toBe(false);
    });

    it('should issue a new session id at sign-in and end the one the browser held', async () => {
      const user = await signUp(t.http);
      const first = await startSession(t.http, user);
      const second = await startSession(t.http, user, { Cookie: first.cookie, 'X-CSRF-Token': first.csrfToken });
      expect(second.sid).not.toBe(first.sid);
      await me(second.cookie).expect(200);
      const old = await me(first.cookie);
      expectProblem(old, 401);
      expectSidCleared(old);
    });

    it('should never adopt a session id that the browser brought (fixation)', async () => {
      const user = await signUp(t.http);
      const planted = 'attacker-chosen-session-id-0123456789abcdef';
      // The planted id is ignored and replaced: the sign-in succeeds with an id of the server's.
      const session = await startSession(t.http, user, { Cookie: cookieHeader({ sid: planted }) });
      expect(session.sid).not.toBe(planted);
      await me(session.cookie).expect(200);
      expectProblem(await me(cookieHeader({ sid: planted })), 401);
    });

    it('should sign in on the first try from a browser holding an expired session', async () => {
      const user = await signUp(t.http);
      const stale = await startSession(t.http, user);
      await t.http
        .delete('/api/v1/auth/session')
        .set({ Cookie: stale.cookie, 'X-CSRF-Token': stale.csrfToken })
        .expect(204);
      const csrf = await t.http.get('/api/v1/auth/csrf').set('Cookie', cookieHeader({ sid: stale.sid }));
      expect(csrf.status).toBe(200);
      expectSidCleared(csrf);
      const fresh = await startSession(t.http, user, { Cookie: cookieHeader({ sid: stale.sid }) });
      expect(fresh.sid).not.toBe(stale.sid);
      await me(fresh.cookie).expect(200);
      // Anywhere else the stale cookie is still a refused credential, never anonymous.
      expectProblem(await me(cookieHeader({ sid: stale.sid })), 401);
    });
  });

  describe('GET /me', () => {
    it('should report the session as the way the caller signed in', async () => {
      const user = await signUp(t.http);
      const session = await startSession(t.http, user);
      const res = await me(session.cookie).expect(200);
      expect(res.body).toMatchObject({ id: user.id, email: user.email, authMethod: 'session' });
    });

    it('should refuse a session cookie sent together with a bearer token (two credentials)', async () => {
      const { user, tokens } = await signedIn(t.http);
      const session = await startSession(t.http, user);
      expectProblem(await me(session.cookie).set('Authorization', `Bearer ${tokens.access_token}`), 400);
    });
  });

  describe('GET /csrf', () => {
    it('should give a token that, with its cookie, is accepted for this session', async () => {
      const user = await signUp(t.http);
      const session = await startSession(t.http, user);
      const res = await t.http.get('/api/v1/auth/csrf').set('Cookie', session.cookie).expect(200);
      expect(res.body).toEqual({ csrfToken: expect.any(String) });
      const csrf = sessionCookies(res).get('csrf')?.value ?? '';
      const cookie = cookieHeader({ sid: session.sid, csrf });
      await createToken({ Cookie: cookie, 'X-CSRF-Token': res.body.csrfToken }).expect(201);
    });
  });

  describe('CSRF on unsafe methods', () => {
    it('should refuse a session POST without X-CSRF-Token with 403', async () => {
      const session = await startSession(t.http, await signUp(t.http));
      expectProblem(await createToken({ Cookie: session.cookie }), 403);
    });

    it('should refuse the token without its cookie (no double submit)', async () => {
      const session = await startSession(t.http, await signUp(t.http));
      const cookie = cookieHeader({ sid: session.sid });
      expectProblem(await createToken({ Cookie: cookie, 'X-CSRF-Token': session.csrfToken }), 403);
    });

    it("should refuse another session's token and cookie on the victim's session", async () => {
      const victim = await startSession(t.http, await signUp(t.http));
      const attacker = await startSession(t.http, await signUp(t.http));
      const cookie = cookieHeader({ sid: victim.sid, csrf: attacker.csrfCookie });
      expectProblem(await createToken({ Cookie: cookie, 'X-CSRF-Token': attacker.csrfToken }), 403);
    });

    it('should refuse a token issued to an anonymous caller', async () => {
      const victim = await startSession(t.http, await signUp(t.http));
      const anonymous = await t.http.get('/api/v1/auth/csrf').expect(200);
      const csrf = sessionCookies(anonymous).get('csrf')?.value ?? '';
      const cookie = cookieHeader({ sid: victim.sid, csrf });
      expectProblem(await createToken({ Cookie: cookie, 'X-CSRF-Token': anonymous.body.csrfToken }), 403);
    });

    it('should accept the right token with its cookie', async () => {
      const session = await startSession(t.http, await signUp(t.http));
      const res = await createToken({ Cookie: session.cookie, 'X-CSRF-Token': session.csrfToken });
      expect(res.status).toBe(201);
    });

    it('should ask no CSRF token of a bearer request', async () => {
      const { tokens } = await signedIn(t.http);
      await t.http
        .post('/api/v1/auth/tokens')
        .set('Authorization', `Bearer ${tokens.access_token}`)
        .send({ name: 'ci' })
        .expect(201);
    });
  });

  describe('DELETE /session', () => {
    it('should refuse a forged sign-out without X-CSRF-Token, and keep the session', async () => {
      const session = await startSession(t.http, await signUp(t.http));
      expectProblem(await t.http.delete('/api/v1/auth/session').set('Cookie', session.cookie), 403);
      await me(session.cookie).expect(200);
    });

    it('should end the session: the sid is then refused', async () => {
      const session = await startSession(t.http, await signUp(t.http));
      const res = await t.http
        .delete('/api/v1/auth/session')
        .set('Cookie', session.cookie)
        .set('X-CSRF-Token', session.csrfToken);
      expect(res.status).toBe(204);
      expect(sessionCookies(res).get('sid')?.value).toBe('');
      expectProblem(await me(session.cookie), 401);
    });
  });

  describe('a present but invalid sid', () => {
    it('should be 401 on a public route, never anonymous', async () => {
      const res = await t.http
        .post('/api/v1/auth/register')
        .set('Cookie', cookieHeader({ sid: 'bogus-session-id' }))
        .send(newRegistration());
      expectProblem(res, 401);
      expectSidCleared(res);
    });
  });

  describe('timeouts', () => {
    const db = () => t.app.get(DataSource);
    const ago = (seconds: number) => new Date(Date.now() - seconds * 1000);

    it('should end a session idle for longer than SESSION_IDLE_TTL', async () => {
      const idle = t.config.auth.sessionIdleSeconds;
      const [active, idler] = [await signUp(t.http), await signUp(t.http)];
      const [activeSession, idleSession] = [await startSession(t.http, active), await startSession(t.http, idler)];
      await db().query('UPDATE sessions SET last_seen_at = $1 WHERE user_id = $2', [ago(idle - 60), active.id]);
      await db().query('UPDATE sessions SET last_seen_at = $1 WHERE user_id = $2', [ago(idle + 60), idler.id]);
      await me(activeSession.cookie).expect(200);
      const res = await me(idleSession.cookie);
      expectProblem(res, 401);
      expectSidCleared(res);
    });

    it('should end a session at its absolute expiry, however active', async () => {
      const user = await signUp(t.http);
      const session = await startSession(t.http, user);
      await db().query('UPDATE sessions SET expires_at = $1 WHERE user_id = $2', [ago(1), user.id]);
      expectProblem(await me(session.cookie), 401);
      expect(await db().query('SELECT id FROM sessions WHERE user_id = $1', [user.id])).toHaveLength(0);
    });
  });
});
