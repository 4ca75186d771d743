import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { keysRotate } from '../../src/cli/keys-rotate.command.js';
import { ROLE_PERMISSIONS } from '../../src/common/auth/roles.js';
import { readKeySetFile, writeKeySetFile } from '../../src/modules/auth/jwt/signing-keys.js';
import { logIn, signedIn, signUp } from '../factories/auth.js';
import { runCli } from '../setup/cli.js';
import { startTestApp, TestDatabase, type TestApp } from '../setup/test-app.js';
import { bearer } from '../support/http.js';
import { expectProblem } from '../support/problem-details.js';

describe('JWT pair: /api/v1/auth', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  describe('POST /login', () => {
    it('should return a Bearer pair that is not cached', async () => {
      const user = await signUp(t.http);
      const res = await t.http
        .post('/api/v1/auth/login')
        .send({ email: user.email.toUpperCase(), password: user.password });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ token_type: 'Bearer', expires_in: 300 });
      expect(res.body.access_token.split('.')).toHaveLength(3);
      expect(res.body.refresh_token).toMatch(/^nsa_rt_/);
      expect(res.headers['cache-control']).toBe('no-store');
    });

    it('should answer a wrong password and an unknown email with the same 401 body', async () => {
      const user = await signUp(t.http);
      const wrong = await t.http
        .post('/api/v1/auth/login')
        .send({ email: user.email, password: 'Not-The-Password-123' });
      const unknown = await t.http
        .post('/api/v1/auth/login')
        .send({ email: `nobody-${user.id}@example.test`, password: 'Not-The-Password-123' });
      expectProblem(wrong, 401);
      expectProblem(unknown, 401);
      const strip = (b: Record<string, unknown>) => ({ ...b, requestId: undefined });
      expect(strip(wrong.body)).toEqual(strip(unknown.body));
    });
  });

  describe('GET /me', () => {
    it('should describe the caller and how they signed in', async () => {
      const { user, tokens } = await signedIn(t.http);
      const res = await t.http.get('/api/v1/auth/me').set('Authorization', `Bearer ${tokens.access_token}`).expect(200);
      expect(res.body).toEqual({
        id: user.id,
        email: user.email,
        displayName: user.displayName,
        // EMAIL_VERIFICATION=none in test apps: nothing proved the address.
        emailVerified: false,
        roles: ['user'],
        permissions: [...ROLE_PERMISSIONS.user].sort(),
        authMethod: 'jwt',
        authTime: expect.any(Number) as number,
        amr: ['pwd'],
        mfa: { totp: 'none', recoveryCodesLeft: 0, passkeys: 0, required: false },
      });
      expect(Math.abs(Date.now() / 1000 - (res.body as { authTime: number }).authTime)).toBeLessThan(60);
    });

    it('should answer 401 with WWW-Authenticate without a credential', async () => {
      const res = await t.http.get('/api/v1/auth/me');
      expectProblem(res, 401);
      expect(res.headers['www-authenticate']).toBe('Bearer realm="api"');
    });
  });

  describe('POST /refresh', () => {
    it('should rotate: a new pair, and the old refresh token is dead', async () => {
      const { tokens } = await signedIn(t.http);
      const res = await t.http.post('/api/v1/auth/refresh').send({ refresh_token: tokens.refresh_token }).expect(200);
      expect(res.body.refresh_token).not.toBe(tokens.refresh_token);
      await t.http.get('/api/v1/auth/me').set('Authorization', `Bearer ${res.body.access_token}`).expect(200);
    });

    it('should revoke the whole family when a rotated token is presented again', async () => {
      const { tokens } = await signedIn(t.http);
      const second = await t.http
        .post('/api/v1/auth/refresh')
        .send({ refresh_token: tokens.refresh_token })
        .expect(200);
      expectProblem(await t.http.post('/api/v1/auth/refresh').send({ refresh_token: tokens.refresh_token }), 401);
      // The attacker's reuse also killed the legitimate holder's newer token.
      expectProblem(await t.http.post('/api/v1/auth/refresh').send({ refresh_token: second.body.refresh_token }), 401);
    });
  });

  describe('POST /logout', () => {
    it('should kill the refresh family and the access token at once', async () => {
      const { tokens } = await signedIn(t.http);
      const auth = `Bearer ${tokens.access_token}`;
      await t.http
        .post('/api/v1/auth/logout')
        .set('Authorization', auth)
        .send({ refresh_token: tokens.refresh_token })
        .expect(204);
      expectProblem(await t.http.get('/api/v1/auth/me').set('Authorization', auth), 401);
      expectProblem(await t.http.post('/api/v1/auth/refresh').send({ refresh_token: tokens.refresh_token }), 401);
    });

    it('should kill the access token of the pair even when only the refresh token is sent', async () => {
      const { tokens } = await signedIn(t.http);
      const refreshed = await t.http
        .post('/api/v1/auth/refresh')
        .send({ refresh_token: tokens.refresh_token })
        .expect(200);
      await t.http.post('/api/v1/auth/logout').send({ refresh_token: refreshed.body.refresh_token }).expect(204);
      for (const access of [tokens.access_token, refreshed.body.access_token as string]) {
        expectProblem(await t.http.get('/api/v1/auth/me').set('Authorization', `Bearer ${access}`), 401);
      }
    });
  });

  describe('POST /verify', () => {
    it('should report an active token with its claims, and 401 for a bad one', async () => {
      const { user, tokens } = await signedIn(t.http);
      const res = await t.http.post('/api/v1/auth/verify').send({ token: tokens.access_token }).expect(200);
      expect(res.body).toMatchObject({
        active: true,
        sub: user.id,
        iss: t.config.auth.issuer,
        aud: t.config.auth.audience,
      });
      expectProblem(await t.http.post('/api/v1/auth/verify').send({ token: `${tokens.access_token}x` }), 401);
    });
  });

  describe('POST /password', () => {
    it('should change the password and kill every old credential', async () => {
      const { user, tokens } = await signedIn(t.http);
      const other = await logIn(t.http, user);
      const pat = await t.http
        .post('/api/v1/auth/tokens')
        .set('Authorization', `Bearer ${tokens.access_token}`)
        .send({ name: 'ci' })
        .expect(201);
      const newPassword = 'Brand-New-Orbit-9931!';
      await t.http
        .post('/api/v1/auth/password')
        .set('Authorization', `Bearer ${tokens.access_token}`)
        .send({ currentPassword: user.password, newPassword })
        .expect(204);
      expectProblem(await t.http.get('/api/v1/auth/me').set('Authorization', `Bearer ${tokens.access_token}`), 401);
      expectProblem(await t.http.get('/api/v1/auth/me').set('Authorization', `Bearer ${other.access_token}`), 401);
      expectProblem(await t.http.get('/api/v1/auth/me').set('Authorization', `Token ${pat.body.token}`), 401);
      expectProblem(await t.http.post('/api/v1/auth/refresh').send({ refresh_token: other.refresh_token }), 401);
      expectProblem(await t.http.post('/api/v1/auth/login').send({ email: user.email, password: user.password }), 401);
      const fresh = await logIn(t.http, { email: user.email, password: newPassword });
      await t.http.get('/api/v1/auth/me').set('Authorization', `Bearer ${fresh.access_token}`).expect(200);
    });
  });

  describe('GET /.well-known/jwks.json', () => {
    it('should publish only public keys', async () => {
      const res = await t.http.get('/.well-known/jwks.json').expect(200);
      expect(res.body.keys.length).toBeGreaterThan(0);
      // ES256 signs access tokens; RS256 is the OAuth server's, for ID tokens.
      expect(res.body.keys.map((key: { alg: string }) => key.alg).sort()).toEqual(['ES256', 'RS256']);
      for (const key of res.body.keys) {
        expect(key).toMatchObject({ use: 'sig', kid: expect.any(String) });
        expect(key).toMatchObject(key.alg === 'ES256' ? { kty: 'EC', crv: 'P-256' } : { kty: 'RSA', e: 'AQAB' });
        for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi']) expect(key[secret]).toBeUndefined();
      }
    });
  });
});

/**
 * SECURITY.md and docs/auth-flows.md: rotate signing keys with `npm run cli -- keys:rotate` and
 * roll the file out; old keys verify until their tokens expire. The command runs as an operator
 * runs it, and each rollout is a restart on the same key file and database.
 */
describe('JWT signing keys across keys:rotate', () => {
  let database: TestDatabase | undefined;
  let dataDir: string;

  beforeAll(async () => {
    if (process.env.DATABASE_URL) database = (await TestDatabase.create(process.env.DATABASE_URL)).retain();
  });
  afterAll(() => database?.release());
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'jwt-rotation-'));
  });
  afterEach(() => rm(dataDir, { recursive: true, force: true }));

  /** Each test boots two or three instances, each some seconds on the embedded database. */
  const ROLLOUTS_TIMEOUT_MS = 120_000;
  const keysFile = () => join(dataDir, 'jwt-keys.json');
  const kidOf = (token: string) => decodeProtectedHeader(token).kid;
  const signingKid = () =>
    readKeySetFile(keysFile())?.keys.find((key) => key.alg === 'ES256' && key.retired_at === undefined)?.kid;

  async function rotateKeys(): Promise<void> {
    expect((await runCli(keysRotate, [], { DATA_DIR: dataDir })).code).toBe(0);
  }

  /** An instance booted on the key file as it now is and on the same database as before, then stopped. */
  async function rolledOut<T>(use: (t: TestApp) => Promise<T>): Promise<T> {
    const t = database
      ? await startTestApp({ JWT_KEYS_FILE: keysFile() }, { database })
      : await startTestApp({ DATA_DIR: dataDir });
    try {
      return await use(t);
    } finally {
      await t.close();
    }
  }

  it(
    'should accept a token signed by the retired key after the rollout, and sign new ones with the new key',
    { timeout: ROLLOUTS_TIMEOUT_MS },
    async () => {
      await rotateKeys();
      const before = await rolledOut((t) => signedIn(t.http));
      const retiredKid = kidOf(before.tokens.access_token);
      expect(retiredKid).toBe(signingKid());

      await rotateKeys();
      await rolledOut(async (t) => {
        const me = await t.http.get('/api/v1/auth/me').set(bearer(before)).expect(200);
        expect(me.body.id).toBe(before.user.id);
        const fresh = await logIn(t.http, before.user);
        expect(kidOf(fresh.access_token)).not.toBe(retiredKid);
        expect(kidOf(fresh.access_token)).toBe(signingKid());
      });
    },
  );

  it(
    'should refuse a token whose key retired longer ago than the longest token lifetime, before any later rotation drops it',
    { timeout: ROLLOUTS_TIMEOUT_MS },
    async () => {
      await rotateKeys();
      const old = await rolledOut((t) => signedIn(t.http));
      await rotateKeys();
      const { current, keptSeconds } = await rolledOut(async (t) => ({
        current: await logIn(t.http, old.user),
        keptSeconds: t.config.auth.retiredKeyVerifySeconds,
      }));

      // As if the rotation were that long ago (the file records when each key retired), with no
      // rotation since: a leaked key must stop verifying without waiting for the next one.
      const keySet = readKeySetFile(keysFile()) ?? { keys: [] };
      const longAgo = Math.floor(Date.now() / 1000) - keptSeconds;
      writeKeySetFile(keysFile(), {
        keys: keySet.keys.map((key) => (key.retired_at === undefined ? key : { ...key, retired_at: longAgo })),
      });

      await rolledOut(async (t) => {
        // Not expired: refused because its key no longer verifies.
        expect(decodeJwt(old.tokens.access_token).exp).toBeGreaterThan(Date.now() / 1000);
        const me = await t.http.get('/api/v1/auth/me').set(bearer(old));
        expectProblem(me, 401);
        expect(me.headers['www-authenticate']).toMatch(/^Bearer realm="api", error="invalid_token"/);
        const jwks = await t.http.get('/.well-known/jwks.json').expect(200);
        expect(jwks.body.keys.map((key: { kid: string }) => key.kid)).not.toContain(kidOf(old.tokens.access_token));
        // The key signing now still verifies what it signed.
        await t.http.get('/api/v1/auth/me').set(bearer(current)).expect(200);
      });
    },
  );
});
