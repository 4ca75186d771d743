import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUp } from '../factories/auth.js';
import { mfaTokenOfLogin, totpCode, userWithTotp } from '../factories/mfa.js';
import { FormBrowser, hiddenField, readForm } from '../factories/oauth.js';
import {
  authorizationUrl,
  pkce,
  postPassword,
  registerClient,
  startOAuthServer,
  type OAuthServer,
} from '../factories/oauth-server.js';
import { expectProblem } from '../support/problem-details.js';

const REDIRECT = 'https://client.example/callback';

describe('MFA on the OAuth sign-in page', () => {
  let server: OAuthServer;
  let clientId: string;
  beforeAll(async () => {
    server = await startOAuthServer({ LOCKOUT_MAX_FAILURES_PER_ADDRESS: '1000' });
    ({ clientId } = await registerClient(server, {
      redirectUris: [REDIRECT],
      grantTypes: ['authorization_code'],
      scopes: ['resources:read'],
      public: true,
    }));
  });
  afterAll(() => server.t.close());

  /** Opens the sign-in page of a fresh authorization request and posts the password. */
  async function passwordStep(user: { email: string; password: string }) {
    const browser = new FormBrowser(server.origin);
    const { challenge } = await pkce();
    const url = authorizationUrl(server.as, {
      clientId,
      redirectUri: REDIRECT,
      scope: 'resources:read',
      state: 's',
      challenge,
    });
    return { browser, res: await postPassword(browser, url, user) };
  }

  const mfaTokenIn = (html: string) => hiddenField(html, 'mfaToken');

  it('should ask an enrolled user for the second factor after the password, and go on only with it', async () => {
    const { user, authenticator } = await userWithTotp(server.t.http);
    const { browser, res } = await passwordStep(user);
    const page = await readForm(res, 200);
    expect(page.html).toContain('Second factor');
    const mfaToken = mfaTokenIn(page.html) as string;
    expect(mfaToken).toMatch(/^nsa_mfa_/);
    const action = page.actions.find((a) => a.endsWith('/mfa')) as string;

    const wrong = await readForm(
      await browser.post(action, { csrf: page.csrf, mfaToken, code: totpCode(authenticator, -5) }),
      401,
    );
    expect(wrong.html).toContain('role="alert"');
    const done = await browser.post(action, { csrf: wrong.csrf, mfaToken, code: totpCode(authenticator, 1) });
    expect(done.status).toBe(303);
    const consent = await readForm(await browser.follow(done));
    expect(consent.actions.some((a) => a.endsWith('/confirm'))).toBe(true);
  });

  it('should let a user without a factor through with the password, as before', async () => {
    const user = await signUp(server.t.http);
    const { res } = await passwordStep(user);
    expect(res.status).toBe(303);
  });

  it('should refuse a reused mfaToken on the page', async () => {
    const { user, authenticator } = await userWithTotp(server.t.http);
    const first = await passwordStep(user);
    const page = await readForm(first.res, 200);
    const mfaToken = mfaTokenIn(page.html) as string;
    const action = page.actions.find((a) => a.endsWith('/mfa')) as string;
    const done = await first.browser.post(action, {
      csrf: page.csrf,
      mfaToken,
      recoveryCode: authenticator.recoveryCodes[0] as string,
    });
    expect(done.status).toBe(303);

    // The same token in a new interaction (the old one is past its login step).
    const second = await passwordStep(user);
    const again = await readForm(second.res, 200);
    const reused = await second.browser.post(again.actions.find((a) => a.endsWith('/mfa')) as string, {
      csrf: again.csrf,
      mfaToken,
      recoveryCode: authenticator.recoveryCodes[1] as string,
    });
    expect(reused.status).toBe(401);
  });

  it('should not finish the page with an mfaToken of POST /login, nor POST /mfa/verify with one of the page', async () => {
    const { user, authenticator } = await userWithTotp(server.t.http);
    const loginToken = await mfaTokenOfLogin(server.t.http, user);
    const { browser, res } = await passwordStep(user);
    const page = await readForm(res, 200);
    const pageToken = mfaTokenIn(page.html) as string;
    const action = page.actions.find((a) => a.endsWith('/mfa')) as string;
    const crossed = await browser.post(action, {
      csrf: page.csrf,
      mfaToken: loginToken,
      recoveryCode: authenticator.recoveryCodes[0] as string,
    });
    expect(crossed.status).toBe(401);
    const verified = await server.t.http
      .post('/api/v1/auth/mfa/verify')
      .send({ mfaToken: pageToken, recoveryCode: authenticator.recoveryCodes[1] });
    expectProblem(verified, 401);
    expect(verified.body).not.toHaveProperty('access_token');
  });
});
