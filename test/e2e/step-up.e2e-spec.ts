import { decodeJwt } from 'jose';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routeSecurity } from '../../src/common/auth/route-security.js';
import type { SignInProof } from '../../src/common/auth/sign-in-proof.js';
import { AccessTokensService } from '../../src/modules/auth/jwt/access-tokens.service.js';
import { RevocationService } from '../../src/modules/auth/revocation/revocation.service.js';
import { UsersService } from '../../src/modules/users/users.service.js';
import { logIn, signedInAdmin, signUp, type TokenPair } from '../factories/auth.js';
import { mfaTokenOfLogin, totpCode, userWithTotp } from '../factories/mfa.js';
import { startSession } from '../factories/session.js';
import { appRoutes, type AppRoute } from '../setup/routes.js';
import { startTestApp, type TestApp } from '../setup/test-app.js';
import { expectProblem } from '../support/problem-details.js';

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const MAX_AGE = 15 * 60;
const CHALLENGE = new RegExp(`^Bearer realm="api", error="insufficient_user_authentication", .*max_age=${MAX_AGE}$`);

/**
 * The routes the contract calls sensitive: every credential-changing route (they need a
 * first-party sign-in), role changes and user deletion. A new route with a first-party policy
 * that forgets @RequiresRecentSignIn fails the second test below.
 */
const SENSITIVE_ROUTES = [
  'DELETE /api/v1/api-keys/:id',
  'DELETE /api/v1/auth/credentials/:id',
  'DELETE /api/v1/auth/mfa/totp',
  'DELETE /api/v1/auth/passkeys/:id',
  'DELETE /api/v1/auth/tokens/:id',
  'DELETE /api/v1/oauth-clients/:clientId',
  'DELETE /api/v1/users/:id',
  'DELETE /api/v1/users/:id/credentials',
  'DELETE /api/v1/users/:id/mfa',
  'PATCH /api/v1/users/:id',
  'POST /api/v1/auth/email/change',
  'POST /api/v1/api-keys',
  'POST /api/v1/api-keys/:id/rotate',
  'POST /api/v1/auth/mfa/recovery-codes',
  'POST /api/v1/auth/mfa/totp',
  'POST /api/v1/auth/mfa/totp/confirm',
  'POST /api/v1/auth/passkeys/registration',
  'POST /api/v1/auth/passkeys/registration/options',
  'POST /api/v1/auth/password',
  'POST /api/v1/auth/sign-out-everywhere',
  'POST /api/v1/auth/tokens',
  'POST /api/v1/oauth-clients',
];

describe('Step-up (RFC 9470) on sensitive routes', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ REAUTH_MAX_AGE: '15m' });
  });
  afterAll(() => t.close());

  /** An access token for a sign-in made as `proof` says (a real one would be minutes old). */
  async function tokenSignedIn(userId: string, proof: SignInProof): Promise<string> {
    const account = await t.app.get(UsersService).findById(userId);
    const generation = await t.app.get(RevocationService).generationOf(t.app.get(DataSource).manager, userId);
    return (await t.app.get(AccessTokensService).issue(account!, generation, proof)).token;
  }
  const now = () => Math.floor(Date.now() / 1000);
  const stale = (): SignInProof => ({ authTime: now() - MAX_AGE - 60, amr: ['pwd'] });

  const securityOf = (route: AppRoute) => routeSecurity(...route.targets);
  const sensitiveRoutes = () => appRoutes(t.app).filter((route) => securityOf(route).recentSignIn);

  it('should mark exactly the routes the contract names as sensitive', () => {
    expect(sensitiveRoutes().map((r) => `${r.method} ${r.path}`)).toEqual(
      [...SENSITIVE_ROUTES].sort((a, b) => {
        const key = (s: string) => `${s.split(' ')[1]} ${s.split(' ')[0]}`;
        return key(a).localeCompare(key(b));
      }),
    );
  });

  it('should mark every route that needs a first-party sign-in (so a new credential route cannot forget it)', () => {
    const firstParty = appRoutes(t.app).filter((route) => {
      const { access } = securityOf(route);
      return access?.kind === 'authenticated' && access.policy.description.includes('first-party sign-in');
    });
    const unmarked = firstParty.filter((route) => !securityOf(route).recentSignIn);
    expect(unmarked.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /api/v1/auth/reauthenticate']);
  });

  it('should answer a sign-in older than REAUTH_MAX_AGE with the RFC 9470 challenge on each sensitive route', async () => {
    const { user } = await signedInAdmin(t);
    const token = await tokenSignedIn(user.id, stale());
    const routes = sensitiveRoutes();
    expect(routes.length).toBe(SENSITIVE_ROUTES.length);
    for (const route of routes) {
      const path = route.path
        .replace(':id', route.path.startsWith('/api/v1/users') ? user.id : '00000000-0000-4000-8000-000000000000')
        .replace(':clientId', 'some-client');
      const res = await t.http[route.method.toLowerCase() as 'post' | 'delete' | 'patch'](path)
        .set(bearer(token))
        .send({ roles: ['admin'] });
      expectProblem(res, 401);
      expect({ route: `${route.method} ${route.path}`, type: res.body.type }).toEqual({
        route: `${route.method} ${route.path}`,
        type: 'urn:problem:insufficient-user-authentication',
      });
      expect(res.headers['www-authenticate']).toMatch(CHALLENGE);
    }
  });

  it('should challenge a sign-in older than REAUTH_MAX_AGE that only deactivates a user, and leave the user active', async () => {
    // docs/auth-flows.md (Step-up): (de)activation, PATCH /users/:id with isActive, needs a recent sign-in.
    const admin = await signedInAdmin(t);
    const other = await signUp(t.http);
    const othersPair = await logIn(t.http, other);
    const token = await tokenSignedIn(admin.user.id, stale());
    const res = await t.http.patch(`/api/v1/users/${other.id}`).set(bearer(token)).send({ isActive: false });
    expectProblem(res, 401);
    expect(res.body.type).toBe('urn:problem:insufficient-user-authentication');
    expect(res.headers['www-authenticate']).toMatch(CHALLENGE);
    // The token itself is good (it reads), and the user it tried to deactivate is untouched.
    const seen = await t.http.get(`/api/v1/users/${other.id}`).set(bearer(token)).expect(200);
    expect(seen.body.isActive).toBe(true);
    await t.http.get('/api/v1/auth/me').set(bearer(othersPair.access_token)).expect(200);
    // The same request from a recent sign-in goes through.
    await t.http
      .patch(`/api/v1/users/${other.id}`)
      .set(bearer(admin.tokens.access_token))
      .send({ isActive: false })
      .expect(200);
    expectProblem(await t.http.get('/api/v1/auth/me').set(bearer(othersPair.access_token)), 401);
  });

  it('should let the route through after POST /reauthenticate', async () => {
    const user = await signUp(t.http);
    const old = await tokenSignedIn(user.id, stale());
    expectProblem(await t.http.post('/api/v1/auth/tokens').set(bearer(old)).send({ name: 'laptop' }), 401);
    const res = await t.http
      .post('/api/v1/auth/reauthenticate')
      .set(bearer(old))
      .send({ password: user.password })
      .expect(200);
    const pair = res.body as TokenPair;
    const claims = decodeJwt(pair.access_token);
    expect(claims.amr).toEqual(['pwd']);
    expect(claims.auth_time).toBeGreaterThanOrEqual(now() - 5);
    await t.http.post('/api/v1/auth/tokens').set(bearer(pair.access_token)).send({ name: 'laptop' }).expect(201);
  });

  it('should end the caller’s refresh family at POST /reauthenticate, and the new pair works', async () => {
    // docs/auth-flows.md (Step-up): POST /reauthenticate answers a new token pair and the caller's refresh family ends.
    const user = await signUp(t.http);
    const old = await logIn(t.http, user);
    const res = await t.http
      .post('/api/v1/auth/reauthenticate')
      .set(bearer(old.access_token))
      .send({ password: user.password })
      .expect(200);
    const pair = res.body as TokenPair;
    expect(pair.refresh_token).not.toBe(old.refresh_token);
    expectProblem(await t.http.post('/api/v1/auth/refresh').send({ refresh_token: old.refresh_token }), 401);
    await t.http.get('/api/v1/auth/me').set(bearer(pair.access_token)).expect(200);
    const refreshed = await t.http.post('/api/v1/auth/refresh').send({ refresh_token: pair.refresh_token }).expect(200);
    await t.http
      .get('/api/v1/auth/me')
      .set(bearer((refreshed.body as TokenPair).access_token))
      .expect(200);
  });

  it('should refuse a wrong password at POST /reauthenticate and count it toward the lockout', async () => {
    const user = await signUp(t.http);
    const old = await tokenSignedIn(user.id, stale());
    for (let i = 0; i < t.config.lockout.maxFailuresPerAccount; i += 1) {
      expectProblem(
        await t.http.post('/api/v1/auth/reauthenticate').set(bearer(old)).send({ password: 'Wrong-password-123' }),
        401,
      );
    }
    expectProblem(
      await t.http.post('/api/v1/auth/reauthenticate').set(bearer(old)).send({ password: user.password }),
      429,
    );
  });

  it('should leave a recent sign-in alone, and a route that is not sensitive alone however old the sign-in', async () => {
    const user = await signUp(t.http);
    const fresh = await logIn(t.http, user);
    await t.http.post('/api/v1/auth/tokens').set(bearer(fresh.access_token)).send({ name: 'fresh' }).expect(201);
    const old = await tokenSignedIn(user.id, stale());
    await t.http.get('/api/v1/auth/tokens').set(bearer(old)).expect(200);
    await t.http.patch(`/api/v1/users/${user.id}`).set(bearer(old)).send({ displayName: 'Renamed' }).expect(200);
  });

  it('should ask a session for reauthentication with 403 reauthentication-required, and refresh it in place', async () => {
    const user = await signUp(t.http);
    const session = await startSession(t.http, user);
    const headers = { Cookie: session.cookie, 'X-CSRF-Token': session.csrfToken };
    await t.app
      .get(DataSource)
      .query(`UPDATE sessions SET auth_time = now() - interval '1 hour' WHERE user_id = $1`, [user.id]);
    const refused = await t.http.post('/api/v1/auth/tokens').set(headers).send({ name: 'laptop' });
    expectProblem(refused, 403);
    expect(refused.body.type).toBe('urn:problem:reauthentication-required');
    await t.http.post('/api/v1/auth/reauthenticate').set(headers).send({ password: user.password }).expect(204);
    await t.http.post('/api/v1/auth/tokens').set(headers).send({ name: 'laptop' }).expect(201);
  });

  describe('a user with a second factor', () => {
    it('should need a sign-in that used the factor, and take the code at POST /reauthenticate', async () => {
      const { user, authenticator } = await userWithTotp(t.http);
      const passwordOnly = await tokenSignedIn(user.id, { authTime: now(), amr: ['pwd'] });
      const refused = await t.http.post('/api/v1/auth/tokens').set(bearer(passwordOnly)).send({ name: 'x' });
      expectProblem(refused, 401);
      expect(refused.headers['www-authenticate']).toMatch(CHALLENGE);
      expectProblem(
        await t.http.post('/api/v1/auth/reauthenticate').set(bearer(passwordOnly)).send({ password: user.password }),
        400,
      );
      const res = await t.http
        .post('/api/v1/auth/reauthenticate')
        .set(bearer(passwordOnly))
        .send({ code: totpCode(authenticator, 1) })
        .expect(200);
      const pair = res.body as TokenPair;
      expect(decodeJwt(pair.access_token).amr).toEqual(['pwd', 'otp', 'mfa']);
      await t.http.post('/api/v1/auth/tokens').set(bearer(pair.access_token)).send({ name: 'x' }).expect(201);
    });

    it('should let a sign-in with the factor through', async () => {
      const { user, authenticator } = await userWithTotp(t.http);
      const res = await t.http
        .post('/api/v1/auth/mfa/verify')
        .send({ mfaToken: await mfaTokenOfLogin(t.http, user), code: totpCode(authenticator, 1) })
        .expect(200);
      await t.http
        .post('/api/v1/auth/tokens')
        .set(bearer((res.body as TokenPair).access_token))
        .send({ name: 'x' })
        .expect(201);
    });
  });
});
