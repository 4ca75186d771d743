import * as oauth from 'oauth4webapi';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logIn, signedInAdmin, signUp, type SignedUpUser } from '../factories/auth.js';
import { FormBrowser, readForm } from '../factories/oauth.js';
import {
  authorizationUrl,
  pkce,
  postPassword,
  registerClient,
  signInAndAllow,
  startOAuthServer,
  type OAuthServer,
  type RegisteredClient,
} from '../factories/oauth-server.js';
import { strongPassword } from '../factories/users.js';
import { expectProblem } from '../support/problem-details.js';

const REDIRECT_URI = 'https://client.example.test/callback';
const MAX_FAILURES = 3;
const WRONG = 'Not-The-Password-123';

interface TokenAnswer {
  status: number;
  body: { access_token?: string; refresh_token?: string; error?: string };
}

/**
 * Attacks on the authorization server that review found open: a refresh token outliving
 * the password change or deactivation that ended every other credential, and its sign-in
 * page counting failures apart from the API's lockout. Then attacks on two of its documented
 * controls that no test had tried: another client's introspection and revocation, and forged
 * consent forms.
 */
describe('OAuth hardening', () => {
  let server: OAuthServer;
  let client: RegisteredClient;

  beforeAll(async () => {
    // The per-address limit is lifted so that this file's many failures from 127.0.0.1
    // test the per-account lockout alone.
    server = await startOAuthServer({
      LOCKOUT_MAX_FAILURES: String(MAX_FAILURES),
      LOCKOUT_MAX_FAILURES_PER_ADDRESS: '1000',
    });
    client = await registerClient(server, {
      redirectUris: [REDIRECT_URI],
      grantTypes: ['authorization_code', 'refresh_token'],
      scopes: ['resources:read'],
      public: false,
    });
  });
  afterAll(() => server?.t.close());

  /** A form POST to an endpoint of the provider as `via`: HTTP Basic, or its client_id alone if it is public. */
  async function asClient(endpoint: string | undefined, form: Record<string, string>, via: RegisteredClient) {
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    if (via.clientSecret !== undefined) {
      headers.authorization = `Basic ${Buffer.from(`${via.clientId}:${via.clientSecret}`).toString('base64')}`;
    }
    const body = via.clientSecret === undefined ? { ...form, client_id: via.clientId } : form;
    return fetch(endpoint as string, { method: 'POST', headers, body: new URLSearchParams(body).toString() });
  }
  async function token(form: Record<string, string>, via: RegisteredClient = client): Promise<TokenAnswer> {
    const res = await asClient(server.as.token_endpoint, form, via);
    return { status: res.status, body: (await res.json()) as TokenAnswer['body'] };
  }
  const refresh = (refreshToken: string) => token({ grant_type: 'refresh_token', refresh_token: refreshToken });

  /** Tokens from the code flow, refreshed once: the refresh token works before the attack. */
  async function oauthTokens(
    user: SignedUpUser,
    via: RegisteredClient = client,
  ): Promise<{ access_token: string; refresh_token: string }> {
    const { verifier, challenge } = await pkce();
    const state = oauth.generateRandomState();
    const url = authorizationUrl(server.as, {
      clientId: via.clientId,
      redirectUri: REDIRECT_URI,
      scope: 'resources:read',
      state,
      challenge,
    });
    const callback = await signInAndAllow(new FormBrowser(server.origin), url, user);
    expect(callback.searchParams.get('state')).toBe(state);
    const issued = await token(
      {
        grant_type: 'authorization_code',
        code: callback.searchParams.get('code') as string,
        redirect_uri: REDIRECT_URI,
        code_verifier: verifier,
      },
      via,
    );
    expect(issued.status).toBe(200);
    const refreshed = await token(
      { grant_type: 'refresh_token', refresh_token: issued.body.refresh_token as string },
      via,
    );
    expect(refreshed.status).toBe(200);
    return refreshed.body as { access_token: string; refresh_token: string };
  }

  const introspect = async (value: string, via: RegisteredClient) =>
    (await (await asClient(server.as.introspection_endpoint, { token: value }, via)).json()) as Record<string, unknown>;
  const revoke = async (value: string, via: RegisteredClient) =>
    (await asClient(server.as.revocation_endpoint, { token: value }, via)).status;
  const api = (accessToken: string) =>
    server.t.http.get('/api/v1/resources').set({ Authorization: `Bearer ${accessToken}` });
  const asAdmin = () => ({ Authorization: `Bearer ${server.adminToken}` });
  /** The user's rows of every OAuth model: grants, tokens, codes, sign-in sessions. */
  async function rowsOf(userId: string): Promise<number> {
    const sql = 'SELECT count(*)::int AS n FROM oauth_models WHERE account_id = $1';
    const [row] = (await server.t.app.get(DataSource).query(sql, [userId])) as { n: number }[];
    return row?.n ?? Number.NaN;
  }

  describe('grants end with the account', () => {
    it("should refuse the user's refresh token after a password change, and leave other users' alone", async () => {
      const user = await signUp(server.t.http);
      const bystander = await signUp(server.t.http);
      const tokens = await oauthTokens(user);
      const bystanders = await oauthTokens(bystander);

      const jwt = await logIn(server.t.http, user);
      const changed = await server.t.http
        .post('/api/v1/auth/password')
        .set({ Authorization: `Bearer ${jwt.access_token}` })
        .send({ currentPassword: user.password, newPassword: strongPassword() });
      expect(changed.status).toBe(204);

      expect(await refresh(tokens.refresh_token)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
      expect((await api(tokens.access_token)).status).toBe(401);
      expect(await rowsOf(user.id)).toBe(0);
      expect((await refresh(bystanders.refresh_token)).status).toBe(200);
    });

    it('should refuse the refresh token of a deactivated user, even once the account is active again', async () => {
      const user = await signUp(server.t.http);
      const tokens = await oauthTokens(user);
      for (const isActive of [false, true]) {
        const res = await server.t.http.patch(`/api/v1/users/${user.id}`).set(asAdmin()).send({ isActive });
        expect(res.status).toBe(200);
      }
      expect(await refresh(tokens.refresh_token)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
      expect((await api(tokens.access_token)).status).toBe(401);
    });

    it('should delete every grant, token and sign-in session of a deleted user', async () => {
      const user = await signUp(server.t.http);
      const tokens = await oauthTokens(user);
      expect(await rowsOf(user.id)).toBeGreaterThan(0);
      const res = await server.t.http.delete(`/api/v1/users/${user.id}`).set(asAdmin());
      expect(res.status).toBe(204);
      expect(await rowsOf(user.id)).toBe(0);
      expect(await refresh(tokens.refresh_token)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    });
  });

  it("should end at once other users' tokens from a client whose owner was deleted", async () => {
    const owner = await signedInAdmin(server.t);
    const registered = await server.t.http
      .post('/api/v1/oauth-clients')
      .set({ Authorization: `Bearer ${owner.tokens.access_token}` })
      .send({
        name: 'Owned',
        redirectUris: [REDIRECT_URI],
        grantTypes: ['authorization_code', 'refresh_token'],
        scopes: ['resources:read'],
        public: false,
      });
    expect(registered.status).toBe(201);
    const owned = registered.body as RegisteredClient;
    const tokens = await oauthTokens(await signUp(server.t.http), owned);
    expect((await api(tokens.access_token)).status).toBe(200);

    expect((await server.t.http.delete(`/api/v1/users/${owner.user.id}`).set(asAdmin())).status).toBe(204);
    expectProblem(await api(tokens.access_token), 401);
    const refreshed = await token({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token }, owned);
    expect(refreshed.status).toBe(401);
  });

  describe('lockout on the sign-in page', () => {
    /** A sign-in page of a fresh authorization request, in a browser of its own. */
    async function signInPage() {
      const browser = new FormBrowser(server.origin);
      const url = authorizationUrl(server.as, {
        clientId: client.clientId,
        redirectUri: REDIRECT_URI,
        scope: 'resources:read',
        state: oauth.generateRandomState(),
        challenge: (await pkce()).challenge,
      });
      let form = await readForm(await browser.follow(await browser.get(url)));
      const submit = async (email: string, password: string) => {
        const res = await browser.post(form.actions[0] as string, { csrf: form.csrf, email, password });
        if (res.status !== 303) form = await readForm(res.clone(), res.status);
        return res;
      };
      return { submit };
    }

    it('should refuse the right password after LOCKOUT_MAX_FAILURES there, and on /api/v1/auth/login', async () => {
      const user = await signUp(server.t.http);
      const page = await signInPage();
      for (let i = 0; i < MAX_FAILURES; i++) expect((await page.submit(user.email, WRONG)).status).toBe(401);

      const locked = await page.submit(user.email, user.password);
      expect(locked.status).toBe(429);
      expect(locked.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
      expect(await locked.text()).toContain('Too many failed sign-in attempts');
      expectProblem(
        await server.t.http.post('/api/v1/auth/login').send({ email: user.email, password: user.password }),
        429,
      );
    });

    it('should count failures on the API and on the page, however the email is spelled, as one account', async () => {
      const user = await signUp(server.t.http);
      for (let i = 0; i < MAX_FAILURES - 1; i++) {
        expectProblem(await server.t.http.post('/api/v1/auth/login').send({ email: user.email, password: WRONG }), 401);
      }
      const page = await signInPage();
      expect((await page.submit(user.email.toUpperCase(), WRONG)).status).toBe(401);
      expect((await page.submit(user.email, user.password)).status).toBe(429);
    });

    it('should sign in with the email spelled in capitals, as the API does', async () => {
      const user = await signUp(server.t.http);
      const page = await signInPage();
      expect((await page.submit(user.email.toUpperCase(), user.password)).status).toBe(303);
    });
  });

  describe('introspection and revocation', () => {
    // docs/auth-flows.md: introspection and revocation "both need client authentication and reach
    // only the caller's own tokens".
    it("should tell another client nothing of a client's tokens, and let it revoke none of them", async () => {
      const registration = { redirectUris: [REDIRECT_URI], scopes: ['resources:read'] };
      const owner = await registerClient(server, {
        ...registration,
        grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
        public: false,
      });
      const others = [
        await registerClient(server, { ...registration, grantTypes: ['authorization_code'], public: false }),
        await registerClient(server, { ...registration, grantTypes: ['authorization_code'], public: true }),
      ];
      const user = await signUp(server.t.http);
      const tokens = await oauthTokens(user, owner);
      const machine = (await token({ grant_type: 'client_credentials', scope: 'resources:read' }, owner)).body
        .access_token as string;
      const owned = [tokens.access_token, tokens.refresh_token, machine];

      for (const other of others) {
        for (const value of owned) {
          expect(await introspect(value, other)).toEqual({ active: false });
          // RFC 7009 section 2.2: 200 whether or not anything was revoked, so this says nothing either.
          expect(await revoke(value, other)).toBe(200);
        }
      }

      for (const value of owned) {
        expect(await introspect(value, owner)).toMatchObject({ active: true, client_id: owner.clientId });
      }
      const me = await server.t.http.get('/api/v1/auth/me').set({ Authorization: `Bearer ${tokens.access_token}` });
      expect(me.status).toBe(200);
      expect(me.body).toMatchObject({ id: user.id, authMethod: 'oauth' });
      expect((await api(machine)).status).toBe(200);
      const refreshed = await token({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token }, owner);
      expect(refreshed.status).toBe(200);

      // The owner's own revocation does end them: the refusals above were about whose tokens they are.
      for (const value of [tokens.access_token, machine]) {
        expect(await revoke(value, owner)).toBe(200);
        expectProblem(await api(value), 401);
        expect(await introspect(value, owner)).toEqual({ active: false });
      }
    });
  });

  describe('CSRF on the consent page', () => {
    /** A user's consent page, signed in to in a browser of its own. */
    async function consentPage() {
      const browser = new FormBrowser(server.origin);
      const state = oauth.generateRandomState();
      const url = authorizationUrl(server.as, {
        clientId: client.clientId,
        redirectUri: REDIRECT_URI,
        scope: 'resources:read',
        state,
        challenge: (await pkce()).challenge,
      });
      const signedIn = await postPassword(browser, url, await signUp(server.t.http));
      expect(signedIn.status).toBe(303);
      const form = await readForm(await browser.follow(signedIn));
      const action = (name: string) => form.actions.find((path) => path.endsWith(`/${name}`)) as string;
      return { browser, state, csrf: form.csrf, confirm: action('confirm'), abort: action('abort') };
    }
    /** Where the provider sends a browser after its form `action` was accepted. */
    async function submitted(page: Awaited<ReturnType<typeof consentPage>>, action: string): Promise<URL> {
      const done = await page.browser.follow(await page.browser.post(action, { csrf: page.csrf }));
      expect(done.status).toBe(303);
      return new URL(done.headers.get('location') as string);
    }

    // docs/threat-model.md ("consent pages with CSRF") and docs/auth-flows.md (csrf-csrf double
    // submit bound to the interaction).
    it("should refuse the allow and deny forms without their CSRF token, or with another browser's", async () => {
      const first = await consentPage();
      const second = await consentPage();
      const forgeries = [
        { page: first, action: first.confirm, foreign: second.csrf },
        { page: second, action: second.abort, foreign: first.csrf },
      ];
      for (const { page, action, foreign } of forgeries) {
        const forms: Record<string, string>[] = [{}, { csrf: foreign }];
        for (const form of forms) {
          const refused = await page.browser.post(action, form);
          expect(refused.status).toBe(403);
          expect(refused.headers.get('location')).toBeNull();
          expect(await refused.text()).toContain('The form expired');
        }
      }

      // Each interaction goes on with its own token: the refusals were the CSRF check's.
      const allowed = await submitted(first, first.confirm);
      expect(`${allowed.origin}${allowed.pathname}`).toBe(REDIRECT_URI);
      expect(allowed.searchParams.get('state')).toBe(first.state);
      expect(allowed.searchParams.get('code')).toBeTruthy();
      const denied = await submitted(second, second.abort);
      expect(denied.searchParams.get('error')).toBe('access_denied');
      expect(denied.searchParams.get('code')).toBeNull();
    });
  });
});
