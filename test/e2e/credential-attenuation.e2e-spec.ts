import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logIn, signUp } from '../factories/auth.js';
import { FormBrowser } from '../factories/oauth.js';
import {
  authorizationUrl,
  insecure,
  pkce,
  registerClient,
  signInAndAllow,
  startOAuthServer,
  type OAuthServer,
} from '../factories/oauth-server.js';
import { startSession } from '../factories/session.js';
import { strongPassword } from '../factories/users.js';

const REDIRECT_URI = 'https://client.example.test/callback';

/**
 * "Credentials attenuate": a derived credential (API key, personal token, OAuth token) never
 * creates, rotates or ends credentials, registers clients or changes the password, whatever
 * its owner may do. The credentials below all belong to an admin, so nothing but the
 * credential's kind stands between them and a full-rights token.
 */
describe('credentials attenuate', () => {
  let server: OAuthServer;
  const admin = () => ({ Authorization: `Bearer ${server.adminToken}` });
  /** Headers that carry each derived credential of the admin. */
  const derived: Record<string, Record<string, string>> = {};
  /** A key the admin made with a JWT: derived credentials must not rotate it. */
  let existingKey: { id: string; key: string };

  async function apiKey(scopes: string[]): Promise<{ id: string; key: string }> {
    const res = await server.t.http
      .post('/api/v1/api-keys')
      .set(admin())
      .send({ name: `k${scopes.length}`, scopes });
    expect(res.status).toBe(201);
    return res.body as { id: string; key: string };
  }

  beforeAll(async () => {
    server = await startOAuthServer();
    const { t, as } = server;
    const noScope = await apiKey([]);
    const readOnly = await apiKey(['resources:read']);
    existingKey = await apiKey([]);
    const personal = await t.http.post('/api/v1/auth/tokens').set(admin()).send({ name: 'laptop' });
    expect(personal.status).toBe(201);

    const client = await registerClient(server, {
      redirectUris: [REDIRECT_URI],
      grantTypes: ['authorization_code', 'client_credentials'],
      scopes: ['resources:read'],
      public: false,
    });
    const oauthClient = { client_id: client.clientId };
    const auth = oauth.ClientSecretBasic(client.clientSecret as string);
    const { verifier, challenge } = await pkce();
    const url = authorizationUrl(as, {
      clientId: client.clientId,
      redirectUri: REDIRECT_URI,
      scope: 'resources:read',
      state: 's',
      challenge,
    });
    const callback = await signInAndAllow(new FormBrowser(server.origin), url, server.admin);
    const params = oauth.validateAuthResponse(as, oauthClient, callback, 's');
    const codeTokens = await oauth.processAuthorizationCodeResponse(
      as,
      oauthClient,
      await oauth.authorizationCodeGrantRequest(as, oauthClient, auth, params, REDIRECT_URI, verifier, insecure),
    );
    const serviceTokens = await oauth.processClientCredentialsResponse(
      as,
      oauthClient,
      await oauth.clientCredentialsGrantRequest(as, oauthClient, auth, { scope: 'resources:read' }, insecure),
    );

    derived['API key with no scope'] = { 'X-API-Key': noScope.key };
    derived['API key with resources:read'] = { 'X-API-Key': readOnly.key };
    derived['personal token'] = { Authorization: `Token ${personal.body.token as string}` };
    derived['OAuth code-flow token'] = { Authorization: `Bearer ${codeTokens.access_token}` };
    derived["client-credentials token of an admin's client"] = {
      Authorization: `Bearer ${serviceTokens.access_token}`,
    };
  });
  afterAll(() => server?.t.close());

  const routes: { name: string; send: (headers: Record<string, string>) => Promise<{ status: number }> }[] = [
    {
      name: 'POST /auth/tokens',
      send: (h) => server.t.http.post('/api/v1/auth/tokens').set(h).send({ name: 'escape' }),
    },
    {
      name: 'POST /api-keys',
      send: (h) => server.t.http.post('/api/v1/api-keys').set(h).send({ name: 'escape', scopes: [] }),
    },
    {
      name: 'POST /api-keys/:id/rotate',
      send: (h) => server.t.http.post(`/api/v1/api-keys/${existingKey.id}/rotate`).set(h).send(),
    },
    {
      name: 'POST /oauth-clients',
      send: (h) =>
        server.t.http
          .post('/api/v1/oauth-clients')
          .set(h)
          .send({
            name: 'escape',
            redirectUris: [],
            grantTypes: ['client_credentials'],
            scopes: ['users:manage'],
            public: false,
          }),
    },
    {
      name: 'POST /auth/password',
      send: (h) =>
        server.t.http
          .post('/api/v1/auth/password')
          .set(h)
          .send({ currentPassword: server.admin.password, newPassword: strongPassword() }),
    },
  ];

  const kinds = [
    'API key with no scope',
    'API key with resources:read',
    'personal token',
    'OAuth code-flow token',
    "client-credentials token of an admin's client",
  ];

  describe.each(kinds)('%s', (kind) => {
    it.each(routes.map((r) => [r.name, r] as const))('should get 403 from %s and create nothing', async (_, route) => {
      const before = await inventory();
      const res = await route.send(derived[kind] as Record<string, string>);
      expect(res.status).toBe(403);
      expect(await inventory()).toEqual(before);
      const unrotated = await server.t.http.get('/api/v1/auth/me').set({ 'X-API-Key': existingKey.key });
      expect(unrotated.status).toBe(200);
      // The credential still works for what it is allowed: it was refused, not broken.
      const me = await server.t.http.get('/api/v1/auth/me').set(derived[kind] as Record<string, string>);
      expect(me.status).toBe(200);
    });
  });

  it('should not let a scoped credential read its owner through the self rule', async () => {
    const me = await server.t.http.get('/api/v1/auth/me').set(admin());
    const own = await server.t.http
      .get(`/api/v1/users/${me.body.id as string}`)
      .set(derived['API key with resources:read'] as Record<string, string>);
    expect(own.status).toBe(403);
  });

  it('should let a plain user with a JWT or a session create credentials', async () => {
    const user = await signUp(server.t.http);
    const tokens = await logIn(server.t.http, user);
    const viaJwt = await server.t.http
      .post('/api/v1/auth/tokens')
      .set({ Authorization: `Bearer ${tokens.access_token}` })
      .send({ name: 'cli' });
    expect(viaJwt.status).toBe(201);
    const session = await startSession(server.t.http, user);
    const viaSession = await server.t.http
      .post('/api/v1/api-keys')
      .set({ Cookie: session.cookie, 'X-CSRF-Token': session.csrfToken })
      .send({ name: 'ci', scopes: ['resources:read'] });
    expect(viaSession.status).toBe(201);
    const self = await server.t.http
      .get(`/api/v1/users/${user.id}`)
      .set({ Authorization: `Bearer ${tokens.access_token}` });
    expect(self.status).toBe(200);
  });

  /** Every credential the admin holds and every client registered: nothing may appear or change. */
  async function inventory(): Promise<unknown> {
    const [tokens, keys, clients] = await Promise.all([
      server.t.http.get('/api/v1/auth/tokens?limit=100').set(admin()),
      server.t.http.get('/api/v1/api-keys?limit=100').set(admin()),
      server.t.http.get('/api/v1/oauth-clients?limit=100').set(admin()),
    ]);
    return {
      tokens: (tokens.body as { data: { id: string }[] }).data.map((x) => x.id).sort(),
      keys: (keys.body.data as { id: string; prefix: string }[]).map((x) => `${x.id}:${x.prefix}`).sort(),
      clients: (clients.body.data as { clientId: string }[]).map((x) => x.clientId).sort(),
    };
  }
});
