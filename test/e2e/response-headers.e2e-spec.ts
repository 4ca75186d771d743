import type { Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { Secret } from 'otpauth';
import type { Response } from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedIn, signedInAdmin, signUp } from '../factories/auth.js';
import { mfaTokenOfLogin, totpCode, userWithTotp } from '../factories/mfa.js';
import { storedPasskey } from '../factories/passkey.js';
import { sessionCookies, startSession } from '../factories/session.js';
import { newRegistration } from '../factories/users.js';
import { startTestApp, type TestApp } from '../setup/test-app.js';
import { bearer } from '../support/http.js';
import { expectProblem } from '../support/problem-details.js';

/** The API's CSP, as helmet writes it. */
const API_CSP = "default-src 'none';frame-ancestors 'none'";

/**
 * docs/contract.md, "Everywhere": every response carries X-Request-Id and the security headers
 * (nosniff, the API's CSP, Referrer-Policy: no-referrer, no X-Powered-By), and
 * `Cache-Control: no-store` on every response that carries a credential: a shared cache or
 * the browser's disk must never keep a token, a secret or a CSRF token.
 */
function expectUncacheable(res: Pick<Response, 'headers'>): void {
  const header = (name: string) => (res.headers as Record<string, string | undefined>)[name];
  expect({
    'cache-control': header('cache-control'),
    'x-content-type-options': header('x-content-type-options'),
    'content-security-policy': header('content-security-policy'),
    'referrer-policy': header('referrer-policy'),
    'x-powered-by': header('x-powered-by'),
    'x-request-id': header('x-request-id'),
  }).toEqual({
    'cache-control': expect.stringMatching(/(^|,)\s*no-store\s*(,|$)/),
    'x-content-type-options': 'nosniff',
    'content-security-policy': API_CSP,
    'referrer-policy': 'no-referrer',
    'x-powered-by': undefined,
    'x-request-id': expect.stringMatching(/\S/),
  });
}

/** Sends `request` as is on a fresh connection; the head of what the server answered before closing. */
function rawExchange(port: number, request: string): Promise<{ status: number; headers: Record<string, string> }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(port, '127.0.0.1', () => socket.write(request));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const [statusLine = '', ...lines] = (Buffer.concat(chunks).toString('latin1').split('\r\n\r\n')[0] ?? '').split(
        '\r\n',
      );
      const headers = Object.fromEntries(
        lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]),
      );
      resolve({ status: Number(statusLine.split(' ')[1]), headers });
    });
  });
}

/** Sends `send` until it is refused with 429 (at most `bound` times), and returns that answer. */
async function untilThrottled(send: () => Promise<Response>, bound: number): Promise<Response> {
  for (let sent = 1; sent <= bound; sent++) {
    const res = await send();
    if (res.status === 429) return res;
  }
  return expect.fail(`still not limited after ${bound} requests`);
}

describe('Response headers on answers that carry a credential', () => {
  let t: TestApp;
  let port: number;
  beforeAll(async () => {
    t = await startTestApp();
    // Listening once: the raw-socket test needs a port, and supertest then uses it too.
    const server: Server = t.app.getHttpServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => t?.close());

  describe('sign-in answers', () => {
    it('should not let a refreshed token pair be cached (POST /auth/refresh)', async () => {
      const { tokens } = await signedIn(t.http);
      const res = await t.http.post('/api/v1/auth/refresh').send({ refresh_token: tokens.refresh_token });
      expect(res.status).toBe(200);
      expect(res.body.refresh_token).toEqual(expect.any(String));
      expectUncacheable(res);
    });

    it('should not let the token pair or the session cookie of a second step be cached (POST /auth/mfa/verify)', async () => {
      const { user, authenticator } = await userWithTotp(t.http);
      const pair = await t.http
        .post('/api/v1/auth/mfa/verify')
        .send({ mfaToken: await mfaTokenOfLogin(t.http, user), code: totpCode(authenticator, 1) });
      expect(pair.status).toBe(200);
      expect(pair.body.access_token).toEqual(expect.any(String));
      expectUncacheable(pair);

      const started = await t.http.post('/api/v1/auth/session').send({ email: user.email, password: user.password });
      const session = await t.http.post('/api/v1/auth/mfa/verify').send({
        mfaToken: (started.body as { mfaToken: string }).mfaToken,
        recoveryCode: authenticator.recoveryCodes[0] as string,
      });
      expect(session.status).toBe(204);
      expect(sessionCookies(session).get('sid')?.value).toBeTruthy();
      expectUncacheable(session);
    });

    it('should not let the token pair of a step-up be cached (POST /auth/reauthenticate)', async () => {
      const { user, tokens } = await signedIn(t.http);
      const res = await t.http
        .post('/api/v1/auth/reauthenticate')
        .set(bearer(tokens))
        .send({ password: user.password });
      expect(res.status).toBe(200);
      expect(res.body.access_token).toEqual(expect.any(String));
      expectUncacheable(res);
    });

    it('should not let the token pair of a passkey sign-in be cached (POST /auth/passkeys/authentication)', async () => {
      const user = await signUp(t.http);
      const { authenticator } = await storedPasskey(t.app, user.id);
      const options = await t.http.post('/api/v1/auth/passkeys/authentication/options').send({}).expect(200);
      const response = authenticator.assert(
        options.body as { challenge: string; rpId?: string },
        new URL(t.config.app.publicUrl).origin,
      );
      const res = await t.http.post('/api/v1/auth/passkeys/authentication').send({ response });
      expect(res.status).toBe(200);
      expect(res.body.access_token).toEqual(expect.any(String));
      expectUncacheable(res);
    });

    it('should not let a CSRF token be cached (GET /auth/csrf)', async () => {
      const session = await startSession(t.http, await signUp(t.http));
      const res = await t.http.get('/api/v1/auth/csrf').set('Cookie', session.cookie);
      expect(res.status).toBe(200);
      expect(res.body.csrfToken).toEqual(expect.any(String));
      expectUncacheable(res);
    });
  });

  describe('secrets shown once', () => {
    it('should not let a TOTP secret or recovery codes be cached (POST /auth/mfa/totp, /totp/confirm, /recovery-codes)', async () => {
      const user = await signUp(t.http);
      const first = await t.http.post('/api/v1/auth/login').send({ email: user.email, password: user.password });
      const begun = await t.http.post('/api/v1/auth/mfa/totp').set(bearer(first.body as { access_token: string }));
      expect(begun.status).toBe(201);
      expect(begun.body.secret).toEqual(expect.any(String));
      expectUncacheable(begun);

      const secret = Buffer.from(Secret.fromBase32(begun.body.secret as string).bytes);
      const confirmed = await t.http
        .post('/api/v1/auth/mfa/totp/confirm')
        .set(bearer(first.body as { access_token: string }))
        .send({ code: totpCode({ secret }) });
      expect(confirmed.status).toBe(200);
      expect(confirmed.body.recoveryCodes).toHaveLength(10);
      expectUncacheable(confirmed);

      // A new set needs a sign-in that used the factor.
      const signedInWithFactor = await t.http
        .post('/api/v1/auth/mfa/verify')
        .send({ mfaToken: await mfaTokenOfLogin(t.http, user), code: totpCode({ secret }, 1) })
        .expect(200);
      const renewed = await t.http
        .post('/api/v1/auth/mfa/recovery-codes')
        .set(bearer(signedInWithFactor.body as { access_token: string }));
      expect(renewed.status).toBe(200);
      expect(renewed.body.recoveryCodes).toHaveLength(10);
      expectUncacheable(renewed);
    });

    it('should not let a new OAuth client’s secret, nor a token of the token endpoint, be cached', async () => {
      const admin = await signedInAdmin(t);
      const created = await t.http
        .post('/api/v1/oauth-clients')
        .set(bearer(admin.tokens))
        .send({
          name: 'Machine',
          redirectUris: [],
          grantTypes: ['client_credentials'],
          scopes: ['resources:read'],
          public: false,
        });
      expect(created.status).toBe(201);
      const { clientId, clientSecret } = created.body as { clientId: string; clientSecret: string };
      expect(clientSecret).toEqual(expect.any(String));
      expectUncacheable(created);

      // oidc-provider sets its own Cache-Control here; the security headers are the app's.
      const issued = await t.http
        .post('/oauth/token')
        .set('Host', new URL(t.config.app.publicUrl).host)
        .auth(clientId, clientSecret)
        .type('form')
        .send({ grant_type: 'client_credentials', scope: 'resources:read' });
      expect(issued.status, issued.text).toBe(200);
      expect(issued.body.access_token).toEqual(expect.any(String));
      expectUncacheable(issued);
    });
  });

  describe('refusals', () => {
    it('should not let a 415 or a 413 be cached', async () => {
      const unsupported = await t.http.post('/api/v1/auth/login').set('Content-Type', 'text/plain').send('hello');
      expectProblem(unsupported, 415);
      expectUncacheable(unsupported);
      const body = JSON.stringify({ ...newRegistration(), displayName: 'x'.repeat(101 * 1000) });
      const tooLarge = await t.http.post('/api/v1/auth/register').set('Content-Type', 'application/json').send(body);
      expectProblem(tooLarge, 413);
      expectUncacheable(tooLarge);
    });

    it('should send the security headers on the answer to a request Node cannot parse', async () => {
      // Answered by the server itself, before Express (src/common/http/malformed-requests.ts).
      const res = await rawExchange(port, 'HELLO THERE\r\n\r\n');
      expect(res.status).toBe(400);
      expectUncacheable(res);
    });

    describe('with an auth limit of one request a minute', () => {
      let limited: TestApp;
      beforeAll(async () => {
        limited = await startTestApp({ RATE_LIMIT_AUTH: '1/min' }, { database: t.database });
      });
      afterAll(() => limited?.close());

      it('should not let a 429 be cached, on the API and on the token endpoint', async () => {
        const login = () =>
          limited.http.post('/api/v1/auth/login').send({ email: 'nobody@example.com', password: 'Not-the-password-1' });
        const api = await untilThrottled(login, 2);
        expectProblem(api, 429);
        expectUncacheable(api);

        const token = () =>
          limited.http
            .post('/oauth/token')
            .set('Host', new URL(limited.config.app.publicUrl).host)
            .type('form')
            .send({ grant_type: 'client_credentials', client_id: 'nobody' });
        const oauth = await untilThrottled(token, 2);
        expect(oauth.status).toBe(429);
        expectUncacheable(oauth);
      });
    });
  });
});
