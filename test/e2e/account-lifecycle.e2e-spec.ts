import { randomBytes } from 'node:crypto';
import type { Response } from 'supertest';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditWriter } from '../../src/modules/audit/audit-writer.js';
import { MailOutbox } from '../../src/modules/mail/mail-outbox.js';
import { logIn } from '../factories/auth.js';
import { outboxDrained, signUpVerified } from '../factories/mail.js';
import { FormBrowser } from '../factories/oauth.js';
import {
  authorizationUrl,
  pkce,
  postPassword,
  registerClient,
  startOAuthServer,
  type OAuthServer,
} from '../factories/oauth-server.js';
import { sessionCookies, startSession } from '../factories/session.js';
import { enrolTotp, mfaTokenOfLogin, totpCode } from '../factories/mfa.js';
import { newRegistration, strongPassword } from '../factories/users.js';
import { TestSmtpServer } from '../setup/smtp-server.js';
import { startTestApp, type TestApp } from '../setup/test-app.js';
import { expectProblem } from '../support/problem-details.js';

/** Headers that differ between any two requests, whatever they ask. */
const PER_REQUEST = new Set(['date', 'x-request-id', 'ratelimit-remaining', 'ratelimit-reset']);

/** What a client sees of an answer, apart from what differs per request. */
function comparable(res: Response) {
  const headers = Object.fromEntries(Object.entries(res.headers).filter(([name]) => !PER_REQUEST.has(name)));
  return { status: res.status, headers, body: res.text };
}

/** A problem+json answer with this status and, when given, this type. */
function problem(res: Parameters<typeof expectProblem>[0], status: number, type?: string): void {
  expectProblem(res, status);
  if (type) expect((res.body as { type: string }).type).toBe(type);
}

describe('Account lifecycle over real mail (EMAIL_VERIFICATION=mandatory)', () => {
  let smtp: TestSmtpServer;
  let server: OAuthServer;
  let t: TestApp;
  beforeAll(async () => {
    smtp = await TestSmtpServer.start();
    server = await startOAuthServer({ EMAIL_VERIFICATION: 'mandatory', SMTP_URL: smtp.url });
    t = server.t;
  });
  afterAll(async () => {
    await server?.t.close();
    await smtp?.stop();
  });

  const register = (body: object) => t.http.post('/api/v1/auth/register').send(body);
  const verify = (token: unknown) => t.http.post('/api/v1/auth/email/verify').send({ token });
  const login = (user: { email: string; password: string }) =>
    t.http.post('/api/v1/auth/login').send({ email: user.email, password: user.password });
  const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
  const sql = (text: string, params: unknown[] = []) => t.app.get(DataSource).query(text, params);

  describe('registration and verification', () => {
    it('should mail a link and a code on register, then let the account sign in once verified', async () => {
      const body = newRegistration();
      const res = await register(body);
      expect(res.status).toBe(202);
      expect(res.body).toEqual({ status: 'verification-sent' });
      const mail = await smtp.next(body.email, /Confirm your email/);
      expect(mail.code).toMatch(/^nsa_verify_[A-Za-z0-9_-]{43}$/);
      expect(mail.text).toContain(`${t.config.app.publicUrl}/account/verify-email#token=${mail.code}`);
      expect(mail.html).toContain(`href="${t.config.app.publicUrl}/account/verify-email#token=${mail.code}"`);
      problem(await login(body), 403, 'urn:problem:email-not-verified');

      await verify(mail.code).expect(204);
      const tokens = await logIn(t.http, body);
      const me = await t.http.get('/api/v1/auth/me').set(bearer(tokens.access_token)).expect(200);
      expect(me.body).toMatchObject({ email: body.email, emailVerified: true });
    });

    it('should refuse an unverified account on the JWT login, the session and the OAuth sign-in page, only once the password is right', async () => {
      const body = newRegistration();
      await register(body).expect(202);
      problem(await login({ ...body, password: strongPassword() }), 401);
      problem(await login(body), 403, 'urn:problem:email-not-verified');
      const session = await t.http.post('/api/v1/auth/session').send({ email: body.email, password: body.password });
      problem(session, 403, 'urn:problem:email-not-verified');
      expect(sessionCookies(session).has('sid')).toBe(false);

      const redirectUri = 'http://127.0.0.1:1/callback';
      const client = await registerClient(server, {
        redirectUris: [redirectUri],
        grantTypes: ['authorization_code'],
        scopes: ['resources:read'],
        public: true,
      });
      const browser = new FormBrowser(server.origin);
      const { challenge } = await pkce();
      const url = authorizationUrl(server.as, {
        clientId: client.clientId,
        redirectUri,
        scope: 'resources:read',
        state: 's',
        challenge,
      });
      const page = await postPassword(browser, url, body);
      expect(page.status).toBe(403);
      expect(await page.text()).toContain('Confirm your email address first');
    });

    it('should answer a taken email exactly as a new one, and tell the owner instead', async () => {
      const owner = await signUpVerified(t.http, smtp);
      const fresh = newRegistration();
      const taken = await register({ ...newRegistration(), email: owner.email });
      const created = await register(fresh);
      expect(taken.status).toBe(created.status);
      expect(taken.body).toEqual(created.body);
      const notice = await smtp.next(owner.email, /Someone tried to sign up/);
      expect(notice.code).toBeUndefined();
      await logIn(t.http, owner);
    });

    it('should refuse a used, wrong, expired or superseded verification token with 400', async () => {
      const body = newRegistration();
      await register(body).expect(202);
      const first = (await smtp.next(body.email, /Confirm your email/)).code as string;
      await t.http.post('/api/v1/auth/email/resend').send({ email: body.email }).expect(202);
      await outboxDrained(t.app);
      const second = smtp.to(body.email, /Confirm your email/)[1]?.code as string;
      expect(second).toBeDefined();
      problem(await verify(first), 400, 'urn:problem:invalid-token');
      problem(await verify(`${second.slice(0, -1)}x`), 400, 'urn:problem:invalid-token');
      await sql(`UPDATE account_tokens SET expires_at = now() - interval '1 second' WHERE email = $1`, [body.email]);
      problem(await verify(second), 400, 'urn:problem:invalid-token');

      await t.http.post('/api/v1/auth/email/resend').send({ email: body.email }).expect(202);
      await outboxDrained(t.app);
      const third = smtp.to(body.email, /Confirm your email/)[2]?.code as string;
      await verify(third).expect(204);
      problem(await verify(third), 400, 'urn:problem:invalid-token');
    });
  });

  describe('password reset', () => {
    it('should reset through the mailed token and end every credential of the account', async () => {
      const user = await signUpVerified(t.http, smtp);
      const pair = await logIn(t.http, user);
      const session = await startSession(t.http, user);
      const personal = await t.http
        .post('/api/v1/auth/tokens')
        .set(bearer(pair.access_token))
        .send({ name: 'cli' })
        .expect(201);
      const key = await t.http
        .post('/api/v1/api-keys')
        .set(bearer(pair.access_token))
        .send({ name: 'ci', scopes: ['resources:read'] })
        .expect(201);

      await t.http.post('/api/v1/auth/password/forgot').send({ email: user.email }).expect(202);
      const mail = await smtp.next(user.email, /Reset your password/);
      expect(mail.code).toMatch(/^nsa_reset_/);
      const newPassword = strongPassword();
      await t.http.post('/api/v1/auth/password/reset').send({ token: mail.code, newPassword }).expect(204);

      problem(await t.http.get('/api/v1/auth/me').set(bearer(pair.access_token)), 401);
      problem(await t.http.post('/api/v1/auth/refresh').send({ refresh_token: pair.refresh_token }), 401);
      problem(await t.http.get('/api/v1/auth/me').set('Cookie', session.cookie), 401);
      problem(await t.http.get('/api/v1/auth/me').set('Authorization', `Token ${personal.body.token}`), 401);
      problem(await t.http.get('/api/v1/resources').set('X-API-Key', key.body.key as string), 401);
      problem(await login(user), 401);
      await logIn(t.http, { email: user.email, password: newPassword });
      await smtp.next(user.email, /password was changed/);
      await outboxDrained(t.app);
      expect(smtp.to(user.email, /password was changed/)).toHaveLength(1);

      await t.app.get(AuditWriter).drain();
      const audited = (await sql(
        `SELECT outcome, actor_id, target FROM audit_events WHERE action = 'auth.password.reset' AND target = $1`,
        [user.id],
      )) as { outcome: string; actor_id: string }[];
      expect(audited).toEqual([{ outcome: 'success', actor_id: user.id, target: user.id }]);
    });

    it('should refuse a used, wrong, expired or superseded reset token, and one whose password changed since', async () => {
      const user = await signUpVerified(t.http, smtp);
      const forgot = async () => {
        await t.http.post('/api/v1/auth/password/forgot').send({ email: user.email }).expect(202);
        await outboxDrained(t.app);
        return smtp.to(user.email, /Reset your password/).at(-1)?.code as string;
      };
      const reset = (token: string) =>
        t.http.post('/api/v1/auth/password/reset').send({ token, newPassword: strongPassword() });

      const superseded = await forgot();
      const current = await forgot();
      expect(current).not.toBe(superseded);
      problem(await reset(superseded), 400, 'urn:problem:invalid-token');
      problem(await reset(`${current.slice(0, -2)}xx`), 400, 'urn:problem:invalid-token');
      await reset(current).expect(204);
      problem(await reset(current), 400, 'urn:problem:invalid-token');

      const expired = await forgot();
      await sql(`UPDATE account_tokens SET expires_at = now() - interval '1 second' WHERE purpose = 'reset-password'`);
      problem(await reset(expired), 400, 'urn:problem:invalid-token');
    });

    it('should mail one address no more than RATE_LIMIT_MAIL allows, and answer 202 all the same', async () => {
      const user = await signUpVerified(t.http, smtp);
      const { limit } = t.config.mail.perRecipient;
      for (let i = 0; i < limit + 2; i++) {
        const res = await t.http.post('/api/v1/auth/password/forgot').send({ email: user.email });
        expect(res.status).toBe(202);
        expect(res.body).toEqual({ status: 'accepted' });
      }
      await outboxDrained(t.app);
      // The proof mailed at registration counted too.
      expect(smtp.to(user.email)).toHaveLength(limit);
      expect(smtp.to(user.email, /Reset your password/)).toHaveLength(limit - 1);
    });

    it('should kill a reset token once the password changes another way', async () => {
      const user = await signUpVerified(t.http, smtp);
      await t.http.post('/api/v1/auth/password/forgot').send({ email: user.email }).expect(202);
      const token = (await smtp.next(user.email, /Reset your password/)).code as string;
      const pair = await logIn(t.http, user);
      await t.http
        .post('/api/v1/auth/password')
        .set(bearer(pair.access_token))
        .send({ currentPassword: user.password, newPassword: strongPassword() })
        .expect(204);
      const res = await t.http.post('/api/v1/auth/password/reset').send({ token, newPassword: strongPassword() });
      problem(res, 400, 'urn:problem:invalid-token');
    });

    // docs/threat-model.md (Recovery takeover): a reset link "dies when the password or the email changes".
    it('should kill a reset token once the email changes', async () => {
      const user = await signUpVerified(t.http, smtp);
      await t.http.post('/api/v1/auth/password/forgot').send({ email: user.email }).expect(202);
      const token = (await smtp.next(user.email, /Reset your password/)).code as string;
      const pair = await logIn(t.http, user);
      const newEmail = newRegistration().email;
      await t.http
        .post('/api/v1/auth/email/change')
        .set(bearer(pair.access_token))
        .send({ newEmail, currentPassword: user.password })
        .expect(202);
      await verify((await smtp.next(newEmail, /Confirm your new email/)).code).expect(204);
      const res = await t.http.post('/api/v1/auth/password/reset').send({ token, newPassword: strongPassword() });
      problem(res, 400, 'urn:problem:invalid-token');
      await logIn(t.http, { email: newEmail, password: user.password });
    });
  });

  describe('email change', () => {
    it('should prove the new address, switch on verification and tell the old one', async () => {
      const user = await signUpVerified(t.http, smtp);
      const pair = await logIn(t.http, user);
      const newEmail = newRegistration().email;
      const res = await t.http
        .post('/api/v1/auth/email/change')
        .set(bearer(pair.access_token))
        .send({ newEmail, currentPassword: user.password });
      expect(res.status).toBe(202);
      const proof = await smtp.next(newEmail, /Confirm your new email/);
      await logIn(t.http, user);
      await verify(proof.code).expect(204);
      const notice = await smtp.next(user.email, /email address was changed/);
      expect(notice.text).toContain(newEmail);
      await outboxDrained(t.app);
      expect(smtp.to(user.email, /email address was changed/)).toHaveLength(1);
      expect(smtp.to(newEmail, /Confirm your new email/)).toHaveLength(1);
      problem(await login(user), 401);
      await logIn(t.http, { email: newEmail, password: user.password });
    });

    // docs/threat-model.md (Recovery takeover): "an email change needs the current password".
    it('should refuse an email change with a wrong current password (401), and mail the new address nothing', async () => {
      const user = await signUpVerified(t.http, smtp);
      const pair = await logIn(t.http, user);
      const newEmail = newRegistration().email;
      const change = (currentPassword: string) =>
        t.http.post('/api/v1/auth/email/change').set(bearer(pair.access_token)).send({ newEmail, currentPassword });
      problem(await change(strongPassword()), 401);
      await outboxDrained(t.app);
      expect(smtp.to(newEmail)).toHaveLength(0);
      // The address is reachable: the right password gets it its proof, and only that one.
      await change(user.password).expect(202);
      await smtp.next(newEmail, /Confirm your new email/);
      await outboxDrained(t.app);
      expect(smtp.to(newEmail)).toHaveLength(1);
    });

    it('should switch only one of two accounts racing for one address', async () => {
      const [a, b] = [await signUpVerified(t.http, smtp), await signUpVerified(t.http, smtp)];
      const target = newRegistration().email;
      const codes: string[] = [];
      for (const user of [a, b]) {
        const pair = await logIn(t.http, user);
        await t.http
          .post('/api/v1/auth/email/change')
          .set(bearer(pair.access_token))
          .send({ newEmail: target, currentPassword: user.password })
          .expect(202);
        await outboxDrained(t.app);
      }
      codes.push(...smtp.to(target, /Confirm your new email/).map((mail) => mail.code as string));
      expect(codes).toHaveLength(2);
      const answers = await Promise.all(codes.map((code) => verify(code)));
      expect(answers.map((r) => r.status).sort()).toEqual([204, 409]);
      const [{ count }] = (await sql(`SELECT count(*)::int AS count FROM users WHERE email = $1`, [target])) as [
        { count: number },
      ];
      expect(count).toBe(1);
    });

    // docs/auth-flows.md (Email change): "an address that already has an account gets a notice
    // instead, with the same answer".
    it('should answer a change to a taken address as one to a new address, tell its owner with no link, and move nothing', async () => {
      const [owner, mover] = [await signUpVerified(t.http, smtp), await signUpVerified(t.http, smtp)];
      const pair = await logIn(t.http, mover);
      const change = (newEmail: string) =>
        t.http
          .post('/api/v1/auth/email/change')
          .set(bearer(pair.access_token))
          .send({ newEmail, currentPassword: mover.password });

      const taken = await change(owner.email);
      const notice = await smtp.next(owner.email, /Someone tried to move an account to your address/);
      expect(notice.code).toBeUndefined();
      expect(`${notice.text}${notice.html}`).not.toMatch(/#token=|nsa_email_/);
      // No token was issued that could prove the owner's address for the mover.
      expect(
        await sql(`SELECT purpose FROM account_tokens WHERE user_id = $1 AND used_at IS NULL`, [mover.id]),
      ).toEqual([]);

      const newEmail = newRegistration().email;
      const fresh = await change(newEmail);
      await smtp.next(newEmail, /Confirm your new email/);
      expect(taken.status).toBe(202);
      expect(comparable(taken)).toEqual(comparable(fresh));

      await outboxDrained(t.app);
      expect(smtp.to(owner.email).map((mail) => mail.subject)).toEqual([
        'Confirm your email address',
        'Someone tried to move an account to your address',
      ]);
      const me = await t.http.get('/api/v1/auth/me').set(bearer(pair.access_token)).expect(200);
      expect(me.body).toMatchObject({ id: mover.id, email: mover.email });
      // The one live token of the mover proves the new address only.
      expect(
        await sql(`SELECT purpose, email FROM account_tokens WHERE user_id = $1 AND used_at IS NULL`, [mover.id]),
      ).toEqual([{ purpose: 'change-email', email: newEmail }]);
      problem(await login({ email: owner.email, password: mover.password }), 401);
      const owners = await logIn(t.http, owner);
      const ownerMe = await t.http.get('/api/v1/auth/me').set(bearer(owners.access_token)).expect(200);
      expect(ownerMe.body).toMatchObject({ id: owner.id, email: owner.email });
    });
  });

  describe('security notices', () => {
    it('should send each notice once: password changed, API key and personal token created, sign-in from a new device', async () => {
      const user = await signUpVerified(t.http, smtp);
      const pair = await logIn(t.http, user);
      await t.http.post('/api/v1/auth/tokens').set(bearer(pair.access_token)).send({ name: 'cli' }).expect(201);
      await t.http
        .post('/api/v1/api-keys')
        .set(bearer(pair.access_token))
        .send({ name: 'ci', scopes: ['resources:read'] })
        .expect(201);
      const credentials = { email: user.email, password: user.password };
      await t.http.post('/api/v1/auth/login').set('User-Agent', 'NewDevice/1.0').send(credentials).expect(200);
      await t.http.post('/api/v1/auth/login').set('User-Agent', 'NewDevice/1.0').send(credentials).expect(200);
      const fresh = await logIn(t.http, user);
      await t.http
        .post('/api/v1/auth/password')
        .set(bearer(fresh.access_token))
        .send({ currentPassword: user.password, newPassword: strongPassword() })
        .expect(204);
      await outboxDrained(t.app);
      expect(smtp.to(user.email, /personal token was created/)).toHaveLength(1);
      expect(smtp.to(user.email, /API key was created/)).toHaveLength(1);
      expect(smtp.to(user.email, /New sign-in/)).toHaveLength(1);
      expect(smtp.to(user.email, /New sign-in/)[0]?.text).toContain('NewDevice/1.0');
      expect(smtp.to(user.email, /password was changed/)).toHaveLength(1);
    });

    it('should send a notice when a second factor is added and when it is removed', async () => {
      const user = await signUpVerified(t.http, smtp);
      const pair = await logIn(t.http, user);
      const authenticator = await enrolTotp(t.http, bearer(pair.access_token));
      // The sign-in that removes it uses the factor, as step-up asks of an enrolled user.
      const verified = await t.http
        .post('/api/v1/auth/mfa/verify')
        .send({ mfaToken: await mfaTokenOfLogin(t.http, user), code: totpCode(authenticator, 1) })
        .expect(200);
      await t.http
        .delete('/api/v1/auth/mfa/totp')
        .set(bearer(verified.body.access_token as string))
        .expect(204);
      await outboxDrained(t.app);
      expect(smtp.to(user.email, /A second factor was added/)).toHaveLength(1);
      expect(smtp.to(user.email, /second factor was removed/i)).toHaveLength(1);
    });
  });

  describe('outbox', () => {
    it('should erase the values of a mail it gives up on, as of one it sent', async () => {
      // An address no mail may go to fails for good at its first attempt (no retry would help).
      const unsafe = `${newRegistration().email}\r\nBcc: someone@example.com`;
      const token = `nsa_reset_${randomBytes(32).toString('base64url')}`;
      await sql(`INSERT INTO mail_outbox (template, recipient, "values") VALUES ('password-reset', $1, $2)`, [
        unsafe,
        JSON.stringify({ displayName: 'Unsafe', token }),
      ]);
      t.app.get(MailOutbox).wake();
      await outboxDrained(t.app);
      const [row] = (await sql(`SELECT failed_at, sent_at, "values" FROM mail_outbox WHERE recipient = $1`, [
        unsafe,
      ])) as { failed_at: Date | null; sent_at: Date | null; values: Record<string, string> }[];
      expect(row).toEqual({ failed_at: expect.any(Date), sent_at: null, values: {} });
    });

    it('should take over a mail whose sender died holding it, once its lease ran out', async () => {
      const to = newRegistration().email;
      await sql(
        `INSERT INTO mail_outbox (template, recipient, "values", attempts, lease_id, lease_until)
         VALUES ('password-changed', $1, '{"displayName":"Orphan"}', 1, gen_random_uuid(), now() - interval '1 second')`,
        [to],
      );
      t.app.get(MailOutbox).wake();
      const mail = await smtp.next(to, /password was changed/);
      expect(mail.text).toContain('Hello Orphan,');
      await outboxDrained(t.app);
      const [row] = (await sql(`SELECT attempts, lease_id, "values" FROM mail_outbox WHERE recipient = $1`, [to])) as {
        attempts: number;
        lease_id: string | null;
        values: Record<string, string>;
      }[];
      // Sent, released, and the values (links, in other mails) erased.
      expect(row).toEqual({ attempts: 2, lease_id: null, values: {} });
    });
  });

  describe('mail injection', () => {
    it('should keep a display name with CR, LF and markup out of the headers and escape it in the body', async () => {
      const body = newRegistration({ displayName: 'Eve\r\nBcc: victim@example.test\r\n<img src=x onerror=alert(1)>' });
      await register(body).expect(202);
      const mail = await smtp.next(body.email, /Confirm your email/);
      const headers = mail.raw.slice(0, mail.raw.search(/\r?\n\r?\n/));
      expect(headers).not.toMatch(/^bcc:/im);
      expect(headers).not.toContain('victim@example.test');
      expect(smtp.to('victim@example.test')).toHaveLength(0);
      expect(mail.html).not.toContain('<img');
      expect(mail.html).toContain('&lt;img src=x onerror=alert(1)&gt;');
      expect(mail.text).toContain('Hello Eve  Bcc: victim@example.test  <img');

      const hostileEmail = { ...newRegistration(), email: 'eve@example.test\r\nBcc: victim@example.test' };
      problem(await register(hostileEmail), 400);
      await outboxDrained(t.app);
      expect(smtp.to('victim@example.test')).toHaveLength(0);
    });
  });
});

describe('Registration under EMAIL_VERIFICATION=optional and none', () => {
  let smtp: TestSmtpServer;
  beforeAll(async () => {
    smtp = await TestSmtpServer.start();
  });
  afterAll(() => smtp?.stop());

  it('should create the user (201), mail a proof and let them sign in before it is used, under optional', async () => {
    const t = await startTestApp({ EMAIL_VERIFICATION: 'optional', SMTP_URL: smtp.url });
    try {
      const body = newRegistration();
      const res = await t.http.post('/api/v1/auth/register').send(body).expect(201);
      expect(res.body).toMatchObject({ email: body.email, displayName: body.displayName });
      problem(await t.http.post('/api/v1/auth/register').send(body), 409);
      const tokens = await logIn(t.http, body);
      const me = () => t.http.get('/api/v1/auth/me').set('Authorization', `Bearer ${tokens.access_token}`);
      expect((await me()).body.emailVerified).toBe(false);
      const mail = await smtp.next(body.email, /Confirm your email/);
      await t.http.post('/api/v1/auth/email/verify').send({ token: mail.code }).expect(204);
      expect((await me()).body.emailVerified).toBe(true);
    } finally {
      await t.close();
    }
  });

  it('should create the user (201) and send no mail, under none', async () => {
    const t = await startTestApp({ EMAIL_VERIFICATION: 'none', SMTP_URL: smtp.url });
    try {
      const body = newRegistration();
      await t.http.post('/api/v1/auth/register').send(body).expect(201);
      await t.http.post('/api/v1/auth/email/resend').send({ email: body.email }).expect(202);
      await logIn(t.http, body);
      await outboxDrained(t.app);
      expect(smtp.to(body.email)).toHaveLength(0);
    } finally {
      await t.close();
    }
  });
});
