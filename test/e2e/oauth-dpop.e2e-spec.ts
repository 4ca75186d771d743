import { createHash, randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedInAdmin, signUp } from '../factories/auth.js';
import { FormBrowser } from '../factories/oauth.js';
import {
  authorizationUrl,
  insecure,
  pkce,
  registerClient,
  signInAndAllow,
  startOAuthServer,
  type OAuthServer,
  type RegisteredClient,
} from '../factories/oauth-server.js';
import { describeWithSharedServices, startTestCluster, type TestCluster } from '../setup/test-app.js';
import { expectProblem } from '../support/problem-details.js';

const REDIRECT_URI = 'https://client.example.test/callback';

/** A DPoP key of the client's: what it signs proofs with, and the public JWK the proofs carry. */
interface ProofKey {
  privateKey: CryptoKey;
  jwk: JWK;
}

async function proofKey(): Promise<ProofKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  return { privateKey, jwk: await exportJWK(publicKey) };
}

/** A DPoP proof (RFC 9449 section 4.2), written by hand so that each claim can be got wrong on purpose. */
function proof(
  key: ProofKey,
  claims: { htm: string; htu: string; accessToken?: string; iat?: number; jti?: string },
): Promise<string> {
  const ath = claims.accessToken ? createHash('sha256').update(claims.accessToken).digest('base64url') : undefined;
  return new SignJWT({ htm: claims.htm, htu: claims.htu, jti: claims.jti ?? randomUUID(), ...(ath ? { ath } : {}) })
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: key.jwk })
    .setIssuedAt(claims.iat ?? Math.floor(Date.now() / 1000))
    .sign(key.privateKey);
}

/**
 * DPoP end to end: oauth4webapi binds tokens to its key at the token endpoint; the API takes a
 * bound token only as `Authorization: DPoP` with a fresh proof by that key for that request,
 * and never as `Bearer`.
 */
describe('DPoP-bound OAuth tokens at the API', () => {
  let server: OAuthServer;
  let client: RegisteredClient;
  const c = () => ({ client_id: client.clientId });
  const clientAuth = () => oauth.ClientSecretBasic(client.clientSecret as string);
  const resources = () => new URL(`${server.origin}/api/v1/resources`);

  beforeAll(async () => {
    server = await startOAuthServer();
    client = await registerClient(server, {
      redirectUris: [REDIRECT_URI],
      grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
      scopes: ['resources:read', 'resources:write'],
      public: false,
    });
  });
  afterAll(() => server?.t.close());

  /** The code flow with oauth4webapi's DPoP handle: the token comes back bound to its key. */
  async function boundTokens(keyPair: CryptoKeyPair) {
    const DPoP = oauth.DPoP({}, keyPair);
    const { verifier, challenge } = await pkce();
    const state = oauth.generateRandomState();
    const url = new URL(
      authorizationUrl(server.as, {
        clientId: client.clientId,
        redirectUri: REDIRECT_URI,
        scope: 'resources:read resources:write',
        state,
        challenge,
      }),
    );
    // Binds the code to the key too (section 10), so that a stolen code is no use without it.
    url.searchParams.set('dpop_jkt', await DPoP.calculateThumbprint());
    const callback = await signInAndAllow(new FormBrowser(server.origin), url.href, await signUp(server.t.http));
    const params = oauth.validateAuthResponse(server.as, c(), callback, state);
    const res = await oauth.authorizationCodeGrantRequest(
      server.as,
      c(),
      clientAuth(),
      params,
      REDIRECT_URI,
      verifier,
      { DPoP, ...insecure },
    );
    return { tokens: await oauth.processAuthorizationCodeResponse(server.as, c(), res), DPoP };
  }

  /** An API call as oauth4webapi makes it, with a fresh proof; `proofSent` receives the DPoP header it sent. */
  function call(
    accessToken: string,
    DPoP: oauth.DPoPHandle,
    method: string,
    url: URL,
    body?: string,
    proofSent?: (proof: string) => void,
  ): Promise<Response> {
    const headers = new Headers(body ? { 'content-type': 'application/json' } : {});
    return oauth.protectedResourceRequest(accessToken, method, url, headers, body, {
      DPoP,
      ...insecure,
      [oauth.customFetch]: (target, init) => {
        proofSent?.(new Headers(init.headers).get('dpop') as string);
        return fetch(target, init as RequestInit);
      },
    });
  }

  /** A raw API call, for what oauth4webapi would never send. */
  const raw = (headers: Record<string, string>, method = 'GET', path = '/api/v1/resources') =>
    fetch(`${server.origin}${path}`, { method, headers });

  it('should bind a code-flow token to the client key, and take it as DPoP with a fresh proof on reads and writes', async () => {
    const keyPair = await oauth.generateKeyPair('ES256');
    const { tokens, DPoP } = await boundTokens(keyPair);
    expect(tokens.token_type).toBe('dpop');
    expect((await call(tokens.access_token, DPoP, 'GET', resources())).status).toBe(200);
    const created = await call(
      tokens.access_token,
      DPoP,
      'POST',
      resources(),
      JSON.stringify({ name: 'bound', visibility: 'private' }),
    );
    expect(created.status).toBe(201);
    const me = await call(tokens.access_token, DPoP, 'GET', new URL(`${server.origin}/api/v1/auth/me`));
    expect(await me.json()).toMatchObject({ authMethod: 'oauth' });

    // The refresh token is bound too: refreshing needs a proof by the same key.
    const refreshed = await oauth.processRefreshTokenResponse(
      server.as,
      c(),
      await oauth.refreshTokenGrantRequest(server.as, c(), clientAuth(), tokens.refresh_token as string, {
        DPoP,
        ...insecure,
      }),
    );
    expect(refreshed.token_type).toBe('dpop');
    expect((await call(refreshed.access_token, DPoP, 'GET', resources())).status).toBe(200);
  });

  it('should refuse a bound token sent as Bearer, with a DPoP challenge', async () => {
    const { tokens } = await boundTokens(await oauth.generateKeyPair('ES256'));
    const res = await server.t.http.get('/api/v1/resources').set({ Authorization: `Bearer ${tokens.access_token}` });
    expectProblem(res, 401);
    expect(res.headers['www-authenticate']).toMatch(
      /^Bearer realm="api", error="invalid_token".*, DPoP realm="api", algs="ES256 EdDSA"$/,
    );
  });

  it('should refuse a replayed proof, a proof for another URL or method, and a proof by another key', async () => {
    const keyPair = await oauth.generateKeyPair('ES256');
    const { tokens, DPoP } = await boundTokens(keyPair);
    const key: ProofKey = { privateKey: keyPair.privateKey, jwk: await exportJWK(keyPair.publicKey) };
    const url = resources().href;
    const dpop = (p: string) => ({ authorization: `DPoP ${tokens.access_token}`, dpop: p });

    let sent = '';
    expect((await call(tokens.access_token, DPoP, 'GET', resources(), undefined, (p) => (sent = p))).status).toBe(200);
    const replayed = await raw(dpop(sent));
    expect(replayed.status).toBe(401);
    expect(replayed.headers.get('www-authenticate')).toBe(
      'DPoP realm="api", error="invalid_token", algs="ES256 EdDSA"',
    );

    const refusals: Record<string, string> = {
      'another URL': await proof(key, {
        htm: 'GET',
        htu: `${server.origin}/api/v1/auth/me`,
        accessToken: tokens.access_token,
      }),
      'another origin': await proof(key, {
        htm: 'GET',
        htu: 'https://elsewhere.example/api/v1/resources',
        accessToken: tokens.access_token,
      }),
      'another method': await proof(key, { htm: 'POST', htu: url, accessToken: tokens.access_token }),
      'another key': await proof(await proofKey(), { htm: 'GET', htu: url, accessToken: tokens.access_token }),
      'another token': await proof(key, { htm: 'GET', htu: url, accessToken: 'some-other-access-token' }),
      'no ath': await proof(key, { htm: 'GET', htu: url }),
      'a stale iat': await proof(key, {
        htm: 'GET',
        htu: url,
        accessToken: tokens.access_token,
        iat: Math.floor(Date.now() / 1000) - 600,
      }),
      'an iat in the future': await proof(key, {
        htm: 'GET',
        htu: url,
        accessToken: tokens.access_token,
        iat: Math.floor(Date.now() / 1000) + 600,
      }),
    };
    for (const [what, p] of Object.entries(refusals)) expect((await raw(dpop(p))).status, what).toBe(401);
    expect((await raw({ authorization: `DPoP ${tokens.access_token}` })).status, 'no proof').toBe(401);

    // The same token with a fresh, right proof still works: the refusals were about the proofs.
    const fresh = await proof(key, { htm: 'GET', htu: url, accessToken: tokens.access_token });
    expect((await raw(dpop(fresh))).status).toBe(200);
  });

  it('should document the DPoP scheme in OpenAPI, on the routes that take OAuth tokens', async () => {
    const res = await server.t.http.get('/docs/openapi.json').expect(200);
    expect(res.body.components.securitySchemes.dpop).toMatchObject({ type: 'http', scheme: 'DPoP' });
    const list = res.body.paths['/api/v1/resources'].get as { security: Record<string, unknown>[] };
    expect(list.security).toContainEqual({ dpop: [] });
  });

  it('should bind a client-credentials token, and refuse an unbound token under the DPoP scheme', async () => {
    const keyPair = await oauth.generateKeyPair('ES256');
    const DPoP = oauth.DPoP({}, keyPair);
    const bound = await oauth.processClientCredentialsResponse(
      server.as,
      c(),
      await oauth.clientCredentialsGrantRequest(
        server.as,
        c(),
        clientAuth(),
        { scope: 'resources:read' },
        {
          DPoP,
          ...insecure,
        },
      ),
    );
    expect(bound.token_type).toBe('dpop');
    expect((await call(bound.access_token, DPoP, 'GET', resources())).status).toBe(200);
    expect((await raw({ authorization: `Bearer ${bound.access_token}` })).status).toBe(401);

    const unbound = await oauth.processClientCredentialsResponse(
      server.as,
      c(),
      await oauth.clientCredentialsGrantRequest(server.as, c(), clientAuth(), { scope: 'resources:read' }, insecure),
    );
    expect(unbound.token_type).toBe('bearer');
    const key: ProofKey = { privateKey: keyPair.privateKey, jwk: await exportJWK(keyPair.publicKey) };
    const p = await proof(key, { htm: 'GET', htu: resources().href, accessToken: unbound.access_token });
    expect((await raw({ authorization: `DPoP ${unbound.access_token}`, dpop: p })).status).toBe(401);
    expect((await raw({ authorization: `Bearer ${unbound.access_token}` })).status).toBe(200);
  });
});

/**
 * A proof's `jti` is recorded in Redis, so a proof used on one instance is refused on every
 * other: the instances are reached with the Host of PUBLIC_URL, which the provider pins.
 */
describeWithSharedServices('DPoP proofs across instances', () => {
  const PUBLIC_URL = 'http://dpop-cluster.test';
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await startTestCluster(2, { PUBLIC_URL });
  });
  afterAll(() => cluster?.close());

  it('should refuse on one instance a proof already used on another', async () => {
    const [first, second] = cluster.apps;
    if (!first || !second) throw new Error('two instances expected');
    const admin = await signedInAdmin(first);
    const registered = await first.http
      .post('/api/v1/oauth-clients')
      .set({ Authorization: `Bearer ${admin.tokens.access_token}` })
      .send({
        name: 'Bound',
        redirectUris: [],
        grantTypes: ['client_credentials'],
        scopes: ['resources:read'],
        public: false,
      });
    expect(registered.status).toBe(201);
    const { clientId, clientSecret } = registered.body as { clientId: string; clientSecret: string };
    const key = await proofKey();
    const issued = await first.http
      .post('/oauth/token')
      .set({
        Host: new URL(PUBLIC_URL).host,
        DPoP: await proof(key, { htm: 'POST', htu: `${PUBLIC_URL}/oauth/token` }),
      })
      .auth(clientId, clientSecret)
      .type('form')
      .send({ grant_type: 'client_credentials', scope: 'resources:read' });
    expect(issued.status).toBe(200);
    expect(issued.body.token_type).toBe('DPoP');
    const accessToken = issued.body.access_token as string;

    const once = await proof(key, { htm: 'GET', htu: `${PUBLIC_URL}/api/v1/resources`, accessToken });
    const use = (instance: typeof first, p: string) =>
      instance.http.get('/api/v1/resources').set({ Authorization: `DPoP ${accessToken}`, DPoP: p });
    expect((await use(first, once)).status).toBe(200);
    expect((await use(second, once)).status).toBe(401);
    const fresh = await proof(key, { htm: 'GET', htu: `${PUBLIC_URL}/api/v1/resources`, accessToken });
    expect((await use(second, fresh)).status).toBe(200);
  });
});
