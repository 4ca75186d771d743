import * as oauth from 'oauth4webapi';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedInAdmin, signUp, type SignedUpUser, type TokenPair } from '../factories/auth.js';
import { FormBrowser, freePort, readForm } from '../factories/oauth.js';
import { startTestApp, type TestApp } from '../setup/test-app.js';

const REDIRECT_URI = 'https://client.example.test/callback';
const insecure = { [oauth.allowInsecureRequests]: true } as const;

interface RegisteredClient {
  clientId: string;
  clientSecret?: string;
}

describe('OAuth 2.0 authorization server', () => {
  let t: TestApp;
  let origin: string;
  let issuer: URL;
  let as: oauth.AuthorizationServer;
  let admin: { user: SignedUpUser; tokens: TokenPair };
  let confidential: RegisteredClient;

  beforeAll(async () => {
    const port = await freePort();
    origin = `http://127.0.0.1:${port}`;
    t = await startTestApp({ PUBLIC_URL: origin });
    await t.app.listen(port, '127.0.0.1');
    issuer = new URL(origin);
    as = await oauth.processDiscoveryResponse(
      issuer,
      await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }),
    );
    admin = await signedInAdmin(t);
    confidential = await register({
      grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
      scopes: ['resources:read', 'resources:write'],
    });
  });
  afterAll(() => t?.close());

  async function register(body: Record<string, unknown> = {}): Promise<RegisteredClient> {
    const res = await t.http
      .post('/api/v1/oauth-clients')
      .set({ Authorization: `Bearer ${admin.tokens.access_token}` })
      .send({
        name: 'Test client',
        redirectUris: [REDIRECT_URI],
        grantTypes: ['authorization_code'],
        scopes: ['resources:read'],
        public: false,
        ...body,
      });
    expect(res.status).toBe(201);
    return res.body as RegisteredClient;
  }

  function authorizationUrl(clientId: string, params: Record<string, string>): string {
    const url = new URL(as.authorization_endpoint as string);
    url.search = new URLSearchParams({
      client_id: clientId,
      response_type: 'code',
      redirect_uri: REDIRECT_URI,
      scope: 'resources:read',
      state: 'st4te',
      ...params,
    }).toString();
    return url.href;
  }

  /** Drives the sign-in and consent pages like a browser; returns the final redirect to the client. */
  async function authorize(user: SignedUpUser, clientId: string, params: Record<string, string>): Promise<URL> {
    const browser = new FormBrowser(origin);
    const loginPage = await readForm(await browser.follow(await browser.get(authorizationUrl(clientId, params))));
    expect(loginPage.html).toContain('Sign in');
    const afterLogin = await browser.post(loginPage.actions[0] as string, {
      csrf: loginPage.csrf,
      email: user.email,
      password: user.password,
    });
    expect(afterLogin.status).toBe(303);
    const consentPage = await readForm(await browser.follow(afterLogin));
    expect(consentPage.html).toContain('Read your resources');
    const done = await browser.follow(await browser.post(consentPage.actions[0] as string, { csrf: consentPage.csrf }));
    expect(done.status).toBe(303);
    return new URL(done.headers.get('location') as string);
  }

  async function codeFlow(user: SignedUpUser, client = confidential) {
    const verifier = oauth.generateRandomCodeVerifier();
    const challenge = await oauth.calculatePKCECodeChallenge(verifier);
    const callback = await authorize(user, client.clientId, {
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    expect(`${callback.origin}${callback.pathname}`).toBe(REDIRECT_URI);
    const params = oauth.validateAuthResponse(as, { client_id: client.clientId }, callback, 'st4te');
    return { params, verifier, code: params.get('code') as string };
  }

  const clientAuth = () => oauth.ClientSecretBasic(confidential.clientSecret as string);
  const oauthClient = () => ({ client_id: confidential.clientId });

  async function exchange(params: URLSearchParams, verifier: string) {
    const res = await oauth.authorizationCodeGrantRequest(
      as,
      oauthClient(),
      clientAuth(),
      params,
      REDIRECT_URI,
      verifier,
      insecure,
    );
    return oauth.processAuthorizationCodeResponse(as, oauthClient(), res);
  }

  /** A raw form POST to a provider endpoint, for the refusals oauth4webapi would not even send. */
  async function post(path: string, form: Record<string, string>, headers: Record<string, string> = {}) {
    const res = await fetch(`${origin}/oauth${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(form).toString(),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }
  const basic = (id: string, secret: string) => ({
    authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`,
  });
  const api = (token: string) => t.http.get('/api/v1/resources').set({ Authorization: `Bearer ${token}` });

  describe('discovery', () => {
    it('should serve RFC 8414 metadata at the root path, naming the pinned issuer', async () => {
      for (const path of ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']) {
        const res = await fetch(`${origin}${path}`);
        expect(res.status).toBe(200);
        const metadata = await oauth.processDiscoveryResponse(issuer, res);
        expect(metadata.issuer).toBe(origin);
        expect(metadata.code_challenge_methods_supported).toEqual(['S256']);
        expect(metadata.introspection_endpoint).toBe(`${origin}/oauth/token/introspection`);
        expect(metadata.revocation_endpoint).toBe(`${origin}/oauth/token/revocation`);
      }
    });

    it('should serve no metadata document whose URL derives another issuer than PUBLIC_URL', async () => {
      for (const path of [
        '/oauth/.well-known/openid-configuration',
        '/oauth/.well-known/oauth-authorization-server',
        '/.well-known/oauth-authorization-server/oauth',
        '/.well-known/openid-configuration/oauth',
      ]) {
        const res = await fetch(`${origin}${path}`);
        expect(res.status, path).toBe(404);
        expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      }
    });

    it('should refuse a request whose Host is not the public origin', async () => {
      const res = await t.http.get('/.well-known/openid-configuration').set('Host', 'evil.example');
      expect(res.status).toBe(400);
    });
  });

  describe('authorization code with PKCE', () => {
    it('should issue tokens that call the API within their scopes, and refresh with rotation', async () => {
      const user = await signUp(t.http);
      const { params, verifier } = await codeFlow(user);
      const tokens = await exchange(params, verifier);
      expect(tokens.token_type).toBe('bearer');
      expect(tokens.refresh_token).toBeTruthy();
      expect(tokens.scope).toBe('resources:read');
      expect((await api(tokens.access_token)).status).toBe(200);
      const me = await t.http.get('/api/v1/auth/me').set({ Authorization: `Bearer ${tokens.access_token}` });
      expect(me.body).toMatchObject({ id: user.id, authMethod: 'oauth', permissions: ['resources:read'] });
      // Out of scope: the user may write, the token may not.
      const write = await t.http
        .post('/api/v1/resources')
        .set({ Authorization: `Bearer ${tokens.access_token}` })
        .send({ name: 'x' });
      expect(write.status).toBe(403);

      const refreshed = await oauth.processRefreshTokenResponse(
        as,
        oauthClient(),
        await oauth.refreshTokenGrantRequest(as, oauthClient(), clientAuth(), tokens.refresh_token as string, insecure),
      );
      expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
      expect((await api(refreshed.access_token)).status).toBe(200);

      // Reuse of the rotated refresh token revokes the whole grant.
      const reuse = await post(
        '/token',
        { grant_type: 'refresh_token', refresh_token: tokens.refresh_token as string },
        basic(confidential.clientId, confidential.clientSecret as string),
      );
      expect(reuse).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
      expect((await api(refreshed.access_token)).status).toBe(401);
      const after = await post(
        '/token',
        { grant_type: 'refresh_token', refresh_token: refreshed.refresh_token as string },
        basic(confidential.clientId, confidential.clientSecret as string),
      );
      expect(after.body.error).toBe('invalid_grant');
    });

    it('should work for a public client with PKCE and no secret', async () => {
      const client = await register({ public: true });
      expect(client.clientSecret).toBeUndefined();
      const user = await signUp(t.http);
      const { params, verifier } = await codeFlow(user, client);
      const res = await oauth.authorizationCodeGrantRequest(
        as,
        { client_id: client.clientId },
        oauth.None(),
        params,
        REDIRECT_URI,
        verifier,
        insecure,
      );
      const tokens = await oauth.processAuthorizationCodeResponse(as, { client_id: client.clientId }, res);
      expect((await api(tokens.access_token)).status).toBe(200);
    });

    it('should refuse an authorization request without PKCE, or with the plain method', async () => {
      const browser = new FormBrowser(origin);
      const cases: Record<string, string>[] = [{}, { code_challenge: 'a'.repeat(43), code_challenge_method: 'plain' }];
      for (const params of cases) {
        const res = await browser.get(authorizationUrl(confidential.clientId, params));
        expect(res.status).toBe(303);
        const location = new URL(res.headers.get('location') as string);
        expect(`${location.origin}${location.pathname}`).toBe(REDIRECT_URI);
        expect(location.searchParams.get('error')).toBe('invalid_request');
        expect(location.searchParams.get('code')).toBeNull();
      }
    });

    it('should not redirect to a redirect_uri that is not registered exactly', async () => {
      const challenge = await oauth.calculatePKCECodeChallenge(oauth.generateRandomCodeVerifier());
      for (const redirect of [`${REDIRECT_URI}/`, `${REDIRECT_URI}?x=1`, 'https://evil.example/callback']) {
        const res = await new FormBrowser(origin).get(
          authorizationUrl(confidential.clientId, {
            code_challenge: challenge,
            code_challenge_method: 'S256',
            redirect_uri: redirect,
          }),
        );
        expect(res.status).toBe(400);
        expect(res.headers.get('location')).toBeNull();
        expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      }
    });

    // docs/auth-flows.md: redirect URIs are compared exactly and must always be sent, so a client's one
    // registered URI is never assumed for a request that names none.
    it('should not redirect when redirect_uri is left out, though the client registered only one', async () => {
      const challenge = await oauth.calculatePKCECodeChallenge(oauth.generateRandomCodeVerifier());
      const url = new URL(
        authorizationUrl(confidential.clientId, { code_challenge: challenge, code_challenge_method: 'S256' }),
      );
      url.searchParams.delete('redirect_uri');
      const res = await new FormBrowser(origin).get(url.href);
      expect(res.status).toBe(400);
      expect(res.headers.get('location')).toBeNull();
      expect(await res.text()).toMatch(/redirect_uri/);
    });

    it('should refuse a wrong verifier, and a code used twice revokes the tokens it gave', async () => {
      const user = await signUp(t.http);
      const first = await codeFlow(user);
      const wrong = await post(
        '/token',
        {
          grant_type: 'authorization_code',
          code: first.code,
          redirect_uri: REDIRECT_URI,
          code_verifier: oauth.generateRandomCodeVerifier(),
        },
        basic(confidential.clientId, confidential.clientSecret as string),
      );
      expect(wrong.body.error).toBe('invalid_grant');

      const second = await codeFlow(user);
      const tokens = await exchange(second.params, second.verifier);
      expect((await api(tokens.access_token)).status).toBe(200);
      const replay = await post(
        '/token',
        {
          grant_type: 'authorization_code',
          code: second.code,
          redirect_uri: REDIRECT_URI,
          code_verifier: second.verifier,
        },
        basic(confidential.clientId, confidential.clientSecret as string),
      );
      expect(replay.body.error).toBe('invalid_grant');
      expect((await api(tokens.access_token)).status).toBe(401);
    });

    it('should answer deny with access_denied at the redirect URI', async () => {
      const user = await signUp(t.http);
      const browser = new FormBrowser(origin);
      const challenge = await oauth.calculatePKCECodeChallenge(oauth.generateRandomCodeVerifier());
      const login = await readForm(
        await browser.follow(
          await browser.get(
            authorizationUrl(confidential.clientId, { code_challenge: challenge, code_challenge_method: 'S256' }),
          ),
        ),
      );
      const consent = await readForm(
        await browser.follow(
          await browser.post(login.actions[0] as string, {
            csrf: login.csrf,
            email: user.email,
            password: user.password,
          }),
        ),
      );
      const abort = consent.actions.find((action) => action.endsWith('/abort')) as string;
      const done = await browser.follow(await browser.post(abort, { csrf: consent.csrf }));
      const location = new URL(done.headers.get('location') as string);
      expect(location.searchParams.get('error')).toBe('access_denied');
    });

    it('should refuse a form without its CSRF token, and a wrong password on the sign-in page', async () => {
      const user = await signUp(t.http);
      const browser = new FormBrowser(origin);
      const challenge = await oauth.calculatePKCECodeChallenge(oauth.generateRandomCodeVerifier());
      const login = await readForm(
        await browser.follow(
          await browser.get(
            authorizationUrl(confidential.clientId, { code_challenge: challenge, code_challenge_method: 'S256' }),
          ),
        ),
      );
      expect(login.html).toContain('Test client');
      const noCsrf = await browser.post(login.actions[0] as string, { email: user.email, password: user.password });
      expect(noCsrf.status).toBe(403);
      const wrong = await browser.post(login.actions[0] as string, {
        csrf: login.csrf,
        email: user.email,
        password: 'not-the-password',
      });
      expect(wrong.status).toBe(401);
      expect(await wrong.text()).toContain('The email or password is wrong.');
      expect(wrong.headers.get('content-security-policy')).toContain("form-action 'self' https://client.example.test");
    });
  });

  describe('client credentials, introspection and revocation', () => {
    it('should act for the client owner with exactly the granted scopes', async () => {
      const res = await oauth.clientCredentialsGrantRequest(
        as,
        oauthClient(),
        clientAuth(),
        { scope: 'resources:read' },
        insecure,
      );
      const tokens = await oauth.processClientCredentialsResponse(as, oauthClient(), res);
      const me = await t.http.get('/api/v1/auth/me').set({ Authorization: `Bearer ${tokens.access_token}` });
      expect(me.body).toMatchObject({ id: admin.user.id, authMethod: 'oauth', permissions: ['resources:read'] });
      const write = await t.http
        .post('/api/v1/resources')
        .set({ Authorization: `Bearer ${tokens.access_token}` })
        .send({ name: 'x' });
      expect(write.status).toBe(403);

      const introspected = await oauth.processIntrospectionResponse(
        as,
        oauthClient(),
        await oauth.introspectionRequest(as, oauthClient(), clientAuth(), tokens.access_token, insecure),
      );
      expect(introspected).toMatchObject({ active: true, client_id: confidential.clientId, scope: 'resources:read' });

      await oauth.processRevocationResponse(
        await oauth.revocationRequest(as, oauthClient(), clientAuth(), tokens.access_token, insecure),
      );
      expect((await api(tokens.access_token)).status).toBe(401);
      const gone = await oauth.processIntrospectionResponse(
        as,
        oauthClient(),
        await oauth.introspectionRequest(as, oauthClient(), clientAuth(), tokens.access_token, insecure),
      );
      expect(gone.active).toBe(false);
    });

    it('should refuse a wrong client secret and introspection without client authentication', async () => {
      const wrong = await post(
        '/token',
        { grant_type: 'client_credentials', scope: 'resources:read' },
        basic(confidential.clientId, 'wrong-secret'),
      );
      expect(wrong).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
      const res = await oauth.processClientCredentialsResponse(
        as,
        oauthClient(),
        await oauth.clientCredentialsGrantRequest(
          as,
          oauthClient(),
          clientAuth(),
          { scope: 'resources:read' },
          insecure,
        ),
      );
      const anonymous = await post('/token/introspection', { token: res.access_token });
      expect(anonymous.status).toBe(400);
      expect(anonymous.body.error).toMatch(/invalid_(client|request)/);
      const withoutSecret = await post('/token/introspection', {
        token: res.access_token,
        client_id: confidential.clientId,
      });
      expect(withoutSecret.body.error).toMatch(/invalid_(client|request)/);
    });

    // SECURITY.md and the entity: only a SHA-256 of a client secret is stored, and what is
    // stored is not itself a secret: a copy of the table authenticates no client.
    it('should store no client secret, and refuse the stored hash offered as the secret', async () => {
      const client = await register({ grantTypes: ['client_credentials'], redirectUris: [] });
      const secret = client.clientSecret as string;
      const [row] = (await t.app
        .get(DataSource)
        .query('SELECT * FROM oauth_clients WHERE client_id = $1', [client.clientId])) as Record<string, unknown>[];
      expect(row).toBeDefined();
      expect(JSON.stringify(row)).not.toContain(secret);
      const stored = row!.secret_hash as string;
      expect(stored).toMatch(/^[0-9a-f]{64}$/);
      const form = { grant_type: 'client_credentials', scope: 'resources:read' };
      expect(await post('/token', form, basic(client.clientId, stored))).toMatchObject({
        status: 401,
        body: { error: 'invalid_client' },
      });
      expect(await post('/token', { ...form, client_id: client.clientId, client_secret: stored })).toMatchObject({
        status: 401,
        body: { error: 'invalid_client' },
      });
      expect((await post('/token', form, basic(client.clientId, secret))).status).toBe(200);
    });

    it('should refuse an unknown opaque token on the API with a bearer challenge', async () => {
      const res = await api('not-a-real-token-but-opaque');
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toContain('error="invalid_token"');
    });

    it('should end every token of a deleted client at once', async () => {
      const client = await register({ grantTypes: ['client_credentials'], redirectUris: [] });
      const c = { client_id: client.clientId };
      const auth = oauth.ClientSecretBasic(client.clientSecret as string);
      const tokens = await oauth.processClientCredentialsResponse(
        as,
        c,
        await oauth.clientCredentialsGrantRequest(as, c, auth, { scope: 'resources:read' }, insecure),
      );
      expect((await api(tokens.access_token)).status).toBe(200);
      const del = await t.http
        .delete(`/api/v1/oauth-clients/${client.clientId}`)
        .set({ Authorization: `Bearer ${admin.tokens.access_token}` });
      expect(del.status).toBe(204);
      expect((await api(tokens.access_token)).status).toBe(401);
    });
  });

  describe('/api/v1/oauth-clients', () => {
    it('should need oauth-clients:manage, and refuse scopes beyond the creator', async () => {
      const user = await signUp(t.http);
      const login = await t.http.post('/api/v1/auth/login').send({ email: user.email, password: user.password });
      const res = await t.http
        .post('/api/v1/oauth-clients')
        .set({ Authorization: `Bearer ${login.body.access_token}` })
        .send({
          name: 'x',
          redirectUris: [REDIRECT_URI],
          grantTypes: ['authorization_code'],
          scopes: [],
          public: true,
        });
      expect(res.status).toBe(403);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      const list = await t.http
        .get('/api/v1/oauth-clients')
        .set({ Authorization: `Bearer ${admin.tokens.access_token}` });
      expect(list.status).toBe(200);
      expect(JSON.stringify(list.body)).not.toContain(confidential.clientSecret);
      const bad = await t.http
        .post('/api/v1/oauth-clients')
        .set({ Authorization: `Bearer ${admin.tokens.access_token}` })
        .send({ name: 'x', redirectUris: [], grantTypes: ['client_credentials'], scopes: [], public: true });
      expect(bad.status).toBe(400);
    });
  });
});
