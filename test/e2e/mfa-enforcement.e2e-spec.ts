import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createAdmin } from '../../src/cli/create-admin.command.js';
import { loadConfig } from '../../src/config/app-config.js';
import { MFA_EVENTS, type MfaFactorEvent } from '../../src/modules/auth/mfa/mfa.events.js';
import { AuditWriter } from '../../src/modules/audit/audit-writer.js';
import { logIn, signedIn, signedInAdmin, type TokenPair } from '../factories/auth.js';
import { enrolTotp, mfaTokenOfLogin, totpCode } from '../factories/mfa.js';
import { newRegistration } from '../factories/users.js';
import { runCli, type CliStorage } from '../setup/cli.js';
import { startTestApp, type TestApp } from '../setup/test-app.js';
import { expectProblem } from '../support/problem-details.js';

const cliAdmin = newRegistration();
vi.mock('../../src/cli/read-password.js', () => ({ readNewPassword: () => Promise.resolve(cliAdmin.password) }));

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

describe('MFA_REQUIRED_ROLES (default admin): enrolment first', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ MFA_REQUIRED_ROLES: 'admin' });
    if (!t.database) dataDir = await mkdtemp(join(tmpdir(), 'create-admin-mfa-'));
  });
  afterAll(async () => {
    await t.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  /** The CLI runs on the test app's database (or a folder of its own on the embedded one). */
  let dataDir: string | undefined;
  const cliStorage = (): CliStorage =>
    t.database ? { DATABASE_URL: t.database.url } : { DATA_DIR: dataDir as string };

  it('should require admin by default, and none when set empty', () => {
    expect(loadConfig({}).mfa.requiredRoles).toEqual(['admin']);
    expect(loadConfig({ MFA_REQUIRED_ROLES: '' }).mfa.requiredRoles).toEqual([]);
    expect(() => loadConfig({ MFA_REQUIRED_ROLES: 'root' })).toThrow(/MFA_REQUIRED_ROLES/);
  });

  it('should let an admin without a factor only enrol, read GET /me and sign out; after enrolling, everything works', async () => {
    const { tokens } = await signedInAdmin(t);
    const auth = bearer(tokens.access_token);
    for (const res of [
      await t.http.get('/api/v1/users').set(auth),
      await t.http.get('/api/v1/audit-events').set(auth),
      await t.http.post('/api/v1/auth/tokens').set(auth).send({ name: 'x' }),
      await t.http.get('/api/v1/auth/credentials').set(auth),
    ]) {
      expectProblem(res, 403);
      expect(res.body.type).toBe('urn:problem:mfa-enrollment-required');
    }
    const me = await t.http.get('/api/v1/auth/me').set(auth).expect(200);
    expect(me.body.mfa).toEqual({ totp: 'none', recoveryCodesLeft: 0, passkeys: 0, required: true });
    await t.http.get('/api/v1/auth/mfa').set(auth).expect(200);

    await enrolTotp(t.http, auth);
    await t.http.get('/api/v1/users').set(auth).expect(200);
    await t.http.get('/api/v1/audit-events').set(auth).expect(200);
  });

  it('should let such an admin sign out before enrolling', async () => {
    const { tokens } = await signedInAdmin(t);
    await t.http
      .post('/api/v1/auth/logout')
      .set(bearer(tokens.access_token))
      .send({ refresh_token: tokens.refresh_token })
      .expect(204);
  });

  it('should leave users of other roles alone', async () => {
    const { tokens } = await signedIn(t.http);
    await t.http.post('/api/v1/auth/tokens').set(bearer(tokens.access_token)).send({ name: 'x' }).expect(201);
  });

  it('should refuse to remove the last factor of an admin', async () => {
    const { user, tokens } = await signedInAdmin(t);
    const authenticator = await enrolTotp(t.http, bearer(tokens.access_token));
    const res = await t.http
      .post('/api/v1/auth/mfa/verify')
      .send({ mfaToken: await mfaTokenOfLogin(t.http, user), code: totpCode(authenticator, 1) })
      .expect(200);
    const withFactor = (res.body as TokenPair).access_token;
    expectProblem(await t.http.delete('/api/v1/auth/mfa/totp').set(bearer(withFactor)), 409);
    const me = await t.http.get('/api/v1/auth/me').set(bearer(withFactor)).expect(200);
    expect(me.body.mfa.totp).toBe('active');
  });

  it("should let an administrator reset a user's factors, audited and announced for the notice by mail", async () => {
    const { user: admin, tokens } = await signedInAdmin(t);
    const adminFactor = await enrolTotp(t.http, bearer(tokens.access_token));
    const adminPair = (
      await t.http
        .post('/api/v1/auth/mfa/verify')
        .send({ mfaToken: await mfaTokenOfLogin(t.http, admin), code: totpCode(adminFactor, 1) })
        .expect(200)
    ).body as TokenPair;
    expect(decodeJwt(adminPair.access_token).amr).toContain('mfa');

    const { user, tokens: userTokens } = await signedIn(t.http);
    await enrolTotp(t.http, bearer(userTokens.access_token));
    await mfaTokenOfLogin(t.http, user);

    const announced = new Promise<MfaFactorEvent>((resolve) =>
      t.app.get(EventEmitter2).once(MFA_EVENTS.factorsReset, resolve),
    );
    await t.http.delete(`/api/v1/users/${user.id}/mfa`).set(bearer(adminPair.access_token)).expect(204);
    await expect(announced).resolves.toEqual({ userId: user.id, factor: 'all', actorId: admin.id });
    await logIn(t.http, user);

    await t.app.get(AuditWriter).drain();
    const events = await t.http
      .get('/api/v1/audit-events')
      .query({ action: 'mfa.factors.reset' })
      .set(bearer(adminPair.access_token))
      .expect(200);
    expect(events.body.data).toEqual([
      expect.objectContaining({ action: 'mfa.factors.reset', actorId: admin.id, target: user.id, outcome: 'success' }),
    ]);
  });

  it('should not let a user reset factors', async () => {
    const { user, tokens } = await signedIn(t.http);
    expectProblem(await t.http.delete(`/api/v1/users/${user.id}/mfa`).set(bearer(tokens.access_token)), 403);
  });

  it('should tell whoever runs create-admin how to enrol', async () => {
    const { code, stdout } = await runCli(createAdmin, ['--email', cliAdmin.email], cliStorage());
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Created admin /);
    expect(stdout).toContain('POST /api/v1/auth/mfa/totp');
    expect(stdout).toContain('POST /api/v1/auth/mfa/totp/confirm');
  });
});
