import { decodeJwt } from 'jose';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logIn, signUp, type TokenPair } from '../factories/auth.js';
import { enrolTotp, mfaTokenOfLogin, totpCode, userWithTotp } from '../factories/mfa.js';
import { cookieHeader, sessionCookies } from '../factories/session.js';
import {
  describeWithSharedServices,
  startTestApp,
  startTestCluster,
  type TestApp,
  type TestCluster,
} from '../setup/test-app.js';
import { expectProblem } from '../support/problem-details.js';
import { readQrCode } from '../support/qr-code.js';

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

describe('MFA: TOTP, recovery codes and the second step of sign-in', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ LOCKOUT_MAX_FAILURES_PER_ADDRESS: '1000' });
  });
  afterAll(() => t.close());

  const verify = (body: Record<string, string>) => t.http.post('/api/v1/auth/mfa/verify').send(body);

  describe('TOTP enrolment', () => {
    it('should enrol TOTP with an otpauth URI and its QR code, and confirm it with a code computed from the secret', async () => {
      const user = await signUp(t.http);
      const tokens = await logIn(t.http, user);
      const begun = await t.http.post('/api/v1/auth/mfa/totp').set(bearer(tokens.access_token)).expect(201);
      const { secret, otpauthUri, qrCodeDataUrl } = begun.body as {
        secret: string;
        otpauthUri: string;
        qrCodeDataUrl: string;
      };
      // What the phone camera reads off the picture is the URI itself.
      expect(qrCodeDataUrl).toMatch(/^data:image\/svg\+xml;base64,/);
      expect(readQrCode(qrCodeDataUrl)).toBe(otpauthUri);
      expect(secret).toMatch(/^[A-Z2-7]{32}$/);
      const uri = new URL(otpauthUri);
      expect(uri.protocol).toBe('otpauth:');
      expect(uri.searchParams.get('secret')).toBe(secret);
      expect(uri.searchParams.get('algorithm')).toBe('SHA1');
      expect(uri.searchParams.get('digits')).toBe('6');
      expect(uri.searchParams.get('period')).toBe('30');
      expect(decodeURIComponent(uri.pathname)).toContain(user.email);
      const pending = await t.http.get('/api/v1/auth/me').set(bearer(tokens.access_token)).expect(200);
      expect(pending.body.mfa).toMatchObject({ totp: 'pending', recoveryCodesLeft: 0 });

      const { Secret } = await import('otpauth');
      const key = Buffer.from(Secret.fromBase32(secret).bytes);
      const wrong = totpCode({ secret: key }, 3);
      expectProblem(
        await t.http.post('/api/v1/auth/mfa/totp/confirm').set(bearer(tokens.access_token)).send({ code: wrong }),
        400,
      );
      const confirmed = await t.http
        .post('/api/v1/auth/mfa/totp/confirm')
        .set(bearer(tokens.access_token))
        .send({ code: totpCode({ secret: key }) })
        .expect(200);
      const codes = (confirmed.body as { recoveryCodes: string[] }).recoveryCodes;
      expect(codes).toHaveLength(10);
      expect(new Set(codes).size).toBe(10);
      for (const code of codes) expect(code).toMatch(/^[a-z2-7]{4}(-[a-z2-7]{4}){3}$/);
      const active = await t.http.get('/api/v1/auth/me').set(bearer(tokens.access_token)).expect(200);
      expect(active.body.mfa).toMatchObject({ totp: 'active', recoveryCodesLeft: 10 });
    });

    it('should store the TOTP secret sealed and the recovery codes hashed', async () => {
      const { user, authenticator } = await userWithTotp(t.http);
      const rows = (await t.app
        .get(DataSource)
        .query(`SELECT secret_sealed FROM mfa_totp_factors WHERE user_id = $1`, [user.id])) as {
        secret_sealed: Buffer;
      }[];
      expect(rows).toHaveLength(1);
      expect(rows[0]?.secret_sealed.includes(authenticator.secret)).toBe(false);
      const dump = JSON.stringify(
        await t.app.get(DataSource).query(`SELECT * FROM mfa_recovery_codes WHERE user_id = $1`, [user.id]),
      );
      for (const code of authenticator.recoveryCodes) {
        expect(dump).not.toContain(code);
        expect(dump).not.toContain(code.replaceAll('-', ''));
      }
    });
  });

  describe('POST /login', () => {
    it('should not let the password alone through for an enrolled user', async () => {
      const { user } = await userWithTotp(t.http);
      const res = await t.http.post('/api/v1/auth/login').send({ email: user.email, password: user.password });
      expectProblem(res, 403);
      expect(res.body).toMatchObject({
        type: 'urn:problem:mfa-required',
        mfaToken: expect.stringMatching(/^nsa_mfa_/) as string,
        methods: ['totp', 'recovery-code'],
      });
      expect(res.body).not.toHaveProperty('access_token');
      expect(res.body).not.toHaveProperty('refresh_token');
    });

    it('should finish with a TOTP code, and the access token says when and how (auth_time, amr)', async () => {
      const { user, authenticator } = await userWithTotp(t.http);
      const mfaToken = await mfaTokenOfLogin(t.http, user);
      const before = Math.floor(Date.now() / 1000);
      const res = await verify({ mfaToken, code: totpCode(authenticator, 1) }).expect(200);
      const pair = res.body as TokenPair;
      const claims = decodeJwt(pair.access_token);
      expect(claims.amr).toEqual(['pwd', 'otp', 'mfa']);
      expect(claims.auth_time).toBeGreaterThanOrEqual(before - 1);
      const me = await t.http.get('/api/v1/auth/me').set(bearer(pair.access_token)).expect(200);
      expect(me.body).toMatchObject({ amr: ['pwd', 'otp', 'mfa'], authTime: claims.auth_time });
      const introspected = await t.http.post('/api/v1/auth/verify').send({ token: pair.access_token }).expect(200);
      expect(introspected.body).toMatchObject({
        active: true,
        amr: ['pwd', 'otp', 'mfa'],
        auth_time: claims.auth_time,
      });
    });

    it('should refuse a reused mfaToken', async () => {
      const { user, authenticator } = await userWithTotp(t.http);
      const mfaToken = await mfaTokenOfLogin(t.http, user);
      await verify({ mfaToken, recoveryCode: authenticator.recoveryCodes[0] as string }).expect(200);
      const reused = await verify({ mfaToken, recoveryCode: authenticator.recoveryCodes[1] as string });
      expectProblem(reused, 401);
      expect(reused.body).not.toHaveProperty('access_token');
    });

    // docs/threat-model.md (Second factor): "the mfaToken is single use, 5 minutes". Every path
    // (login, session, OAuth page) keeps its mfaTokens in mfa_challenges and finishes through
    // MfaSignInService.finish, so this one path stands for all three.
    it('should refuse an mfaToken past its 5 minutes, even with a right code', async () => {
      const { user, authenticator } = await userWithTotp(t.http);
      const mfaToken = await mfaTokenOfLogin(t.http, user);
      const db = t.app.get(DataSource);
      const [issued] = (await db.query(
        `SELECT extract(epoch FROM expires_at - created_at)::float8 AS seconds FROM mfa_challenges WHERE user_id = $1`,
        [user.id],
      )) as { seconds: number }[];
      // Issued for 5 minutes (expires_at is set by the app, created_at by Postgres a moment later).
      expect(issued?.seconds).toBeGreaterThan(290);
      expect(issued?.seconds).toBeLessThanOrEqual(300);
      const [, moved] = (await db.query(
        `UPDATE mfa_challenges SET expires_at = now() - interval '1 second' WHERE user_id = $1`,
        [user.id],
      )) as [unknown[], number];
      expect(moved).toBe(1);
      const code = totpCode(authenticator, 1);
      const expired = await verify({ mfaToken, code });
      expectProblem(expired, 401);
      expect(expired.body).not.toHaveProperty('access_token');
      // The code itself was good, and is still unused: a live mfaToken takes it.
      await verify({ mfaToken: await mfaTokenOfLogin(t.http, user), code }).expect(200);
    });

    it('should refuse a replayed TOTP code, even with a new mfaToken', async () => {
      const { user, authenticator } = await userWithTotp(t.http);
      const code = totpCode(authenticator, 1);
      await verify({ mfaToken: await mfaTokenOfLogin(t.http, user), code }).expect(200);
      expectProblem(await verify({ mfaToken: await mfaTokenOfLogin(t.http, user), code }), 401);
      // The code of the step enrolment used is older still: refused too.
      expectProblem(
        await verify({ mfaToken: await mfaTokenOfLogin(t.http, user), code: totpCode(authenticator) }),
        401,
      );
    });

    it('should leave the mfaToken usable after a wrong code, so the user can type again', async () => {
      const { user, authenticator } = await userWithTotp(t.http);
      const mfaToken = await mfaTokenOfLogin(t.http, user);
      expectProblem(await verify({ mfaToken, code: totpCode(authenticator, -5) }), 401);
      await verify({ mfaToken, code: totpCode(authenticator, 1) }).expect(200);
    });

    it('should void the mfaToken when the password changes before the second step', async () => {
      const { user, authenticator } = await userWithTotp(t.http);
      const mfaToken = await mfaTokenOfLogin(t.http, user);
      const other = await verify({ mfaToken: await mfaTokenOfLogin(t.http, user), code: totpCode(authenticator, 1) });
      const pair = other.body as TokenPair;
      await t.http
        .post('/api/v1/auth/password')
        .set(bearer(pair.access_token))
        .send({ currentPassword: user.password, newPassword: 'A-brand-new-passphrase-77' })
        .expect(204);
      const res = await verify({ mfaToken, recoveryCode: authenticator.recoveryCodes[0] as string });
      expectProblem(res, 401);
      expect(res.body).not.toHaveProperty('access_token');
    });

    it('should keep auth_time and amr across refreshes (refreshing is not signing in)', async () => {
      const { user, authenticator } = await userWithTotp(t.http);
      const pair = (await verify({ mfaToken: await mfaTokenOfLogin(t.http, user), code: totpCode(authenticator, 1) }))
        .body as TokenPair;
      const refreshed = (
        await t.http.post('/api/v1/auth/refresh').send({ refresh_token: pair.refresh_token }).expect(200)
      ).body as TokenPair;
      const first = decodeJwt(pair.access_token);
      const second = decodeJwt(refreshed.access_token);
      expect(second.auth_time).toBe(first.auth_time);
      expect(second.amr).toEqual(first.amr);
    });
  });

  describe('recovery codes', () => {
    it('should accept each recovery code once and count what is left in GET /me', async () => {
      const { user, authenticator } = await userWithTotp(t.http);
      const [code] = authenticator.recoveryCodes as [string];
      const res = await verify({ mfaToken: await mfaTokenOfLogin(t.http, user), recoveryCode: code.toUpperCase() });
      expect(res.status).toBe(200);
      const pair = res.body as TokenPair;
      expect(decodeJwt(pair.access_token).amr).toEqual(['pwd', 'mfa']);
      const me = await t.http.get('/api/v1/auth/me').set(bearer(pair.access_token)).expect(200);
      expect(me.body.mfa.recoveryCodesLeft).toBe(9);
      expectProblem(await verify({ mfaToken: await mfaTokenOfLogin(t.http, user), recoveryCode: code }), 401);
    });

    it('should kill the old set when a new one is generated', async () => {
      const { user, authenticator } = await userWithTotp(t.http);
      const pair = (await verify({ mfaToken: await mfaTokenOfLogin(t.http, user), code: totpCode(authenticator, 1) }))
        .body as TokenPair;
      const renewed = await t.http.post('/api/v1/auth/mfa/recovery-codes').set(bearer(pair.access_token)).expect(200);
      const fresh = (renewed.body as { recoveryCodes: string[] }).recoveryCodes;
      expect(fresh).toHaveLength(10);
      const old = authenticator.recoveryCodes[0] as string;
      expectProblem(await verify({ mfaToken: await mfaTokenOfLogin(t.http, user), recoveryCode: old }), 401);
      await verify({ mfaToken: await mfaTokenOfLogin(t.http, user), recoveryCode: fresh[0] as string }).expect(200);
    });
  });

  describe('lockout', () => {
    it('should lock the account after wrong codes exactly as after wrong passwords', async () => {
      const { user, authenticator } = await userWithTotp(t.http);
      const mfaToken = await mfaTokenOfLogin(t.http, user);
      const wrong = totpCode(authenticator, 10);
      for (let i = 0; i < t.config.lockout.maxFailuresPerAccount; i += 1)
        expectProblem(await verify({ mfaToken, code: wrong }), 401);
      const locked = await verify({ mfaToken, code: totpCode(authenticator, 1) });
      expectProblem(locked, 429);
      expect(locked.headers['retry-after']).toMatch(/^[1-9]\d*$/);
      expectProblem(await t.http.post('/api/v1/auth/login').send({ email: user.email, password: user.password }), 429);
    });
  });

  describe('POST /session', () => {
    it('should not let the password alone through for an enrolled user, and set no session cookie', async () => {
      const { user } = await userWithTotp(t.http);
      const res = await t.http.post('/api/v1/auth/session').send({ email: user.email, password: user.password });
      expectProblem(res, 403);
      expect(res.body).toMatchObject({ type: 'urn:problem:mfa-required', methods: ['totp', 'recovery-code'] });
      expect(sessionCookies(res).has('sid')).toBe(false);
    });

    it('should start the session through POST /mfa/verify, with its cookie and a CSRF token', async () => {
      const { user, authenticator } = await userWithTotp(t.http);
      const started = await t.http.post('/api/v1/auth/session').send({ email: user.email, password: user.password });
      const { mfaToken } = started.body as { mfaToken: string };
      const res = await verify({ mfaToken, code: totpCode(authenticator, 1) }).expect(204);
      expect(res.body).toEqual({});
      const cookies = sessionCookies(res);
      const sid = cookies.get('sid')?.value as string;
      expect(sid).toBeTruthy();
      expect(res.headers['x-csrf-token']).toBeTruthy();
      const me = await t.http.get('/api/v1/auth/me').set('Cookie', cookieHeader({ sid })).expect(200);
      expect(me.body).toMatchObject({ id: user.id, authMethod: 'session', amr: ['pwd', 'otp', 'mfa'] });
      expectProblem(await verify({ mfaToken, recoveryCode: authenticator.recoveryCodes[0] as string }), 401);
    });
    // docs/auth-flows.md (Sessions): "a new id at every sign-in (no fixation ...)", and (Multi-factor
    // authentication) POST /mfa/verify "-> 204 + sid cookie (session)". The sid the browser brings
    // to the second step ends, as at POST /session; it never becomes the signed-in session.
    it('should issue a new session id at the second step and end the one the browser held (fixation)', async () => {
      const { user, authenticator } = await userWithTotp(t.http);
      const password = { email: user.email, password: user.password };
      const first = await t.http.post('/api/v1/auth/session').send(password);
      const earlier = await verify({
        mfaToken: (first.body as { mfaToken: string }).mfaToken,
        recoveryCode: authenticator.recoveryCodes[0] as string,
      }).expect(204);
      const held = {
        sid: sessionCookies(earlier).get('sid')?.value as string,
        csrf: sessionCookies(earlier).get('csrf')?.value as string,
      };
      expect(held.sid).toBeTruthy();
      const browser = { Cookie: cookieHeader(held), 'X-CSRF-Token': earlier.headers['x-csrf-token'] as string };
      await t.http.get('/api/v1/auth/me').set(browser).expect(200);

      const again = await t.http.post('/api/v1/auth/session').set(browser).send(password);
      expectProblem(again, 403);
      expect(again.body).toMatchObject({ type: 'urn:problem:mfa-required' });
      expect(sessionCookies(again).has('sid')).toBe(false);
      const res = await t.http
        .post('/api/v1/auth/mfa/verify')
        .set(browser)
        .send({ mfaToken: (again.body as { mfaToken: string }).mfaToken, code: totpCode(authenticator, 1) })
        .expect(204);
      const sid = sessionCookies(res).get('sid')?.value as string;
      expect(sid).toBeTruthy();
      expect(sid).not.toBe(held.sid);
      const me = await t.http.get('/api/v1/auth/me').set('Cookie', cookieHeader({ sid })).expect(200);
      expect(me.body).toMatchObject({ id: user.id, authMethod: 'session', amr: ['pwd', 'otp', 'mfa'] });
      expectProblem(await t.http.get('/api/v1/auth/me').set('Cookie', cookieHeader({ sid: held.sid })), 401);
    });
  });

  describe('an mfaToken finishes only the sign-in it continues', () => {
    it('should answer a login mfaToken with a token pair and never a session, and a session one with a session and never a pair', async () => {
      const { user, authenticator } = await userWithTotp(t.http);
      const login = await verify({ mfaToken: await mfaTokenOfLogin(t.http, user), code: totpCode(authenticator, 1) });
      expect(login.status).toBe(200);
      expect(sessionCookies(login).has('sid')).toBe(false);
      expect(login.body).toHaveProperty('access_token');
      const started = await t.http.post('/api/v1/auth/session').send({ email: user.email, password: user.password });
      const session = await verify({
        mfaToken: (started.body as { mfaToken: string }).mfaToken,
        recoveryCode: authenticator.recoveryCodes[0] as string,
      });
      expect(session.status).toBe(204);
      expect(sessionCookies(session).has('sid')).toBe(true);
      expect(session.text).not.toContain('access_token');
    });

    it('should not take an mfaToken of the OAuth sign-in page at POST /mfa/verify', async () => {
      const { user, authenticator } = await userWithTotp(t.http);
      const account = await t.app
        .get((await import('../../src/modules/users/users.service.js')).UsersService)
        .findById(user.id);
      const { MfaSignInService } = await import('../../src/modules/auth/mfa/mfa-sign-in.service.js');
      const oauth = await t.app
        .get(MfaSignInService)
        .requireSecondStep(account!, 'oauth')
        .catch((error: { members: { mfaToken: string } }) => error.members.mfaToken);
      expect(oauth).toMatch(/^nsa_mfa_/);
      const res = await verify({ mfaToken: oauth as string, recoveryCode: authenticator.recoveryCodes[0] as string });
      expectProblem(res, 401);
      expect(res.body).not.toHaveProperty('access_token');
    });
  });

  describe('bounded', () => {
    it('should clear expired mfaTokens as new ones are issued, so the table holds about what lives', async () => {
      const { user } = await userWithTotp(t.http);
      const db = t.app.get(DataSource);
      await db.query(
        `INSERT INTO mfa_challenges (token_hash, user_id, purpose, credentials_epoch, expires_at)
         SELECT sha256(n::text::bytea), $1, 'login', 0, now() - interval '1 hour' FROM generate_series(1, 15) AS n`,
        [user.id],
      );
      const expired = async () =>
        Number(
          ((await db.query(`SELECT count(*) AS n FROM mfa_challenges WHERE expires_at < now()`)) as { n: string }[])[0]
            ?.n,
        );
      expect(await expired()).toBe(15);
      await mfaTokenOfLogin(t.http, user);
      expect(await expired()).toBe(5);
      await mfaTokenOfLogin(t.http, user);
      expect(await expired()).toBe(0);
    });
  });

  describe('removing the factor', () => {
    it('should let the password alone through again once TOTP is deleted', async () => {
      const { user, authenticator } = await userWithTotp(t.http);
      const pair = (await verify({ mfaToken: await mfaTokenOfLogin(t.http, user), code: totpCode(authenticator, 1) }))
        .body as TokenPair;
      await t.http.delete('/api/v1/auth/mfa/totp').set(bearer(pair.access_token)).expect(204);
      const again = await logIn(t.http, user);
      expect(decodeJwt(again.access_token).amr).toEqual(['pwd']);
      const me = await t.http.get('/api/v1/auth/me').set(bearer(again.access_token)).expect(200);
      expect(me.body.mfa).toMatchObject({ totp: 'none', recoveryCodesLeft: 0 });
    });

    it('should refuse a second enrolment while a factor is active', async () => {
      const { user, authenticator } = await userWithTotp(t.http);
      const pair = (await verify({ mfaToken: await mfaTokenOfLogin(t.http, user), code: totpCode(authenticator, 1) }))
        .body as TokenPair;
      expectProblem(await t.http.post('/api/v1/auth/mfa/totp').set(bearer(pair.access_token)), 409);
      await enrolTotp(t.http, bearer((await logIn(t.http, await signUp(t.http))).access_token));
    });
  });
});

describeWithSharedServices('MFA on two instances', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await startTestCluster(2, { LOCKOUT_MAX_FAILURES_PER_ADDRESS: '1000' });
  });
  afterAll(() => cluster.close());

  it('should refuse a TOTP code replayed on a second instance', async () => {
    const [a, b] = cluster.apps as [TestApp, TestApp];
    const { user, authenticator } = await userWithTotp(a.http);
    const code = totpCode(authenticator, 1);
    await a.http
      .post('/api/v1/auth/mfa/verify')
      .send({ mfaToken: await mfaTokenOfLogin(a.http, user), code })
      .expect(200);
    const replayed = await b.http
      .post('/api/v1/auth/mfa/verify')
      .send({ mfaToken: await mfaTokenOfLogin(b.http, user), code });
    expectProblem(replayed, 401);
  });

  it('should let exactly one of two concurrent sign-ins with one code through, across instances', async () => {
    const [a, b] = cluster.apps as [TestApp, TestApp];
    const { user, authenticator } = await userWithTotp(a.http);
    const code = totpCode(authenticator, 1);
    const [tokenA, tokenB] = [await mfaTokenOfLogin(a.http, user), await mfaTokenOfLogin(b.http, user)];
    const results = await Promise.all([
      a.http.post('/api/v1/auth/mfa/verify').send({ mfaToken: tokenA, code }),
      b.http.post('/api/v1/auth/mfa/verify').send({ mfaToken: tokenB, code }),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 401]);
  });

  it('should let one mfaToken finish one sign-in, whichever instances it is sent to at once', async () => {
    const [a, b] = cluster.apps as [TestApp, TestApp];
    const { user, authenticator } = await userWithTotp(a.http);
    const mfaToken = await mfaTokenOfLogin(a.http, user);
    const results = await Promise.all([
      a.http.post('/api/v1/auth/mfa/verify').send({ mfaToken, recoveryCode: authenticator.recoveryCodes[0] }),
      b.http.post('/api/v1/auth/mfa/verify').send({ mfaToken, recoveryCode: authenticator.recoveryCodes[1] }),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 401]);
  });
});
