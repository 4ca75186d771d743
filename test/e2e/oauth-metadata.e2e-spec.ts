import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUp, type SignedUpUser } from '../factories/auth.js';
import { FormBrowser, freePort, readForm } from '../factories/oauth.js';
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
import { keysRotate } from '../../src/cli/keys-rotate.command.js';
import { runCli } from '../setup/cli.js';
import { startTestApp, type TestApp } from '../setup/test-app.js';

const REDIRECT_URI = 'https://client.example.test/callback';
/** Debian's Python, where python3-authlib is installed (CI installs it when missing). */
const DEBIAN_PYTHON = '/usr/bin/python3';

/**
 * What the metadata advertises, each used the way a client would: discovery from PUBLIC_URL
 * (the issuer), OpenID Connect ID tokens and userinfo, pushed authorization requests, every
 * response mode, the `iss` authorization response parameter; and what a client asks for
 * beyond its registration is refused or visibly cut down.
 */
describe('OAuth metadata, and every feature it advertises', () => {
  let server: OAuthServer;
  let client: RegisteredClient;
  const c = () => ({ client_id: client.clientId });
  const clientAuth = () => oauth.ClientSecretBasic(client.clientSecret as string);

  beforeAll(async () => {
    server = await startOAuthServer();
    client = await registerClient(server, {
      redirectUris: [REDIRECT_URI],
      grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
      scopes: ['resources:read'],
      public: false,
    });
  });
  afterAll(() => server?.t.close());

  /** Signs a fresh user in on the pages and allows; returns the code's verifier and the callback. */
  async function authorize(params: Record<string, string> = {}, user?: SignedUpUser) {
    const { verifier, challenge } = await pkce();
    const state = oauth.generateRandomState();
    const url = new URL(
      authorizationUrl(server.as, {
        clientId: client.clientId,
        redirectUri: REDIRECT_URI,
        scope: 'resources:read',
        state,
        challenge,
      }),
    );
    for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
    const callback = await signInAndAllow(
      new FormBrowser(server.origin),
      url.href,
      user ?? (await signUp(server.t.http)),
    );
    return { verifier, state, callback };
  }

  async function redeem(params: URLSearchParams, verifier: string, expectedNonce?: string) {
    const res = await oauth.authorizationCodeGrantRequest(
      server.as,
      c(),
      clientAuth(),
      params,
      REDIRECT_URI,
      verifier,
      insecure,
    );
    return oauth.processAuthorizationCodeResponse(server.as, c(), res, expectedNonce ? { expectedNonce } : {});
  }

  describe('discovery', () => {
    it('should be found from PUBLIC_URL by a strict client, as OAuth and as OpenID metadata, naming PUBLIC_URL', async () => {
      const issuer = new URL(server.origin);
      for (const algorithm of ['oauth2', 'oidc'] as const) {
        const res = await oauth.discoveryRequest(issuer, { algorithm, ...insecure });
        const metadata = await oauth.processDiscoveryResponse(issuer, res);
        expect(metadata.issuer).toBe(server.origin);
        expect(metadata.token_endpoint).toBe(`${server.origin}/oauth/token`);
      }
    });

    it('should list RS256 among the ID token algorithms, with an RS256 key in the JWKS', async () => {
      expect(server.as.id_token_signing_alg_values_supported).toContain('RS256');
      const jwks = (await (await fetch(server.as.jwks_uri as string)).json()) as { keys: { alg: string }[] };
      expect(jwks.keys.map((key) => key.alg)).toEqual(expect.arrayContaining(['RS256', 'ES256']));
      const published = (await server.t.http.get('/.well-known/jwks.json').expect(200)).body as typeof jwks;
      expect(published.keys).toEqual(expect.arrayContaining(jwks.keys));
    });
  });

  describe('OpenID Connect', () => {
    it('should issue an RS256 ID token that a relying party verifies with the JWKS', async () => {
      const nonce = oauth.generateRandomNonce();
      const user = await signUp(server.t.http);
      const { verifier, state, callback } = await authorize({ scope: 'openid resources:read', nonce }, user);
      const params = oauth.validateAuthResponse(server.as, c(), callback, state);
      const tokens = await redeem(params, verifier, nonce);
      const idToken = tokens.id_token as string;
      expect(decodeProtectedHeader(idToken).alg).toBe('RS256');
      const { payload } = await jwtVerify(idToken, createRemoteJWKSet(new URL(server.as.jwks_uri as string)), {
        issuer: server.origin,
        audience: client.clientId,
        algorithms: ['RS256'],
      });
      expect(payload).toMatchObject({ sub: user.id, nonce });
      expect(oauth.getValidatedIdTokenClaims(tokens)?.sub).toBe(user.id);
      // The access token is the API's, within its scope.
      const api = await server.t.http.get('/api/v1/resources').set({ Authorization: `Bearer ${tokens.access_token}` });
      expect(api.status).toBe(200);
    });

    it('should answer userinfo for the access token of a request for openid alone, which the API refuses', async () => {
      const nonce = oauth.generateRandomNonce();
      const user = await signUp(server.t.http);
      const { verifier, state, callback } = await authorize({ scope: 'openid', nonce }, user);
      const tokens = await redeem(oauth.validateAuthResponse(server.as, c(), callback, state), verifier, nonce);
      const userinfo = await oauth.processUserInfoResponse(
        server.as,
        c(),
        user.id,
        await oauth.userInfoRequest(server.as, c(), tokens.access_token, insecure),
      );
      expect(userinfo.sub).toBe(user.id);
      const api = await server.t.http.get('/api/v1/resources').set({ Authorization: `Bearer ${tokens.access_token}` });
      expect(api.status).toBe(401);
    });

    it('should never take an ID token as an access token at the API', async () => {
      const { verifier, state, callback } = await authorize({ scope: 'openid resources:read' });
      const tokens = await redeem(oauth.validateAuthResponse(server.as, c(), callback, state), verifier);
      const res = await server.t.http.get('/api/v1/resources').set({ Authorization: `Bearer ${tokens.id_token}` });
      expect(res.status).toBe(401);
    });
  });

  describe('pushed authorization requests (RFC 9126)', () => {
    it('should sign in from a pushed request, and refuse its request_uri a second time', async () => {
      const { verifier, challenge } = await pkce();
      const state = oauth.generateRandomState();
      const pushed = await oauth.processPushedAuthorizationResponse(
        server.as,
        c(),
        await oauth.pushedAuthorizationRequest(
          server.as,
          c(),
          clientAuth(),
          {
            response_type: 'code',
            redirect_uri: REDIRECT_URI,
            scope: 'resources:read',
            state,
            code_challenge: challenge,
            code_challenge_method: 'S256',
          },
          insecure,
        ),
      );
      expect(pushed.request_uri).toMatch(/^urn:ietf:params:oauth:request_uri:/);
      const url = new URL(server.as.authorization_endpoint as string);
      url.search = new URLSearchParams({ client_id: client.clientId, request_uri: pushed.request_uri }).toString();
      const callback = await signInAndAllow(new FormBrowser(server.origin), url.href, await signUp(server.t.http));
      const tokens = await redeem(oauth.validateAuthResponse(server.as, c(), callback, state), verifier);
      expect(tokens.scope).toBe('resources:read');

      const again = await new FormBrowser(server.origin).get(url.href);
      expect(again.headers.get('location') ?? '').not.toMatch(/[?&]code=/);
      expect([303, 400]).toContain(again.status);
    });
  });

  describe('response modes and the iss parameter', () => {
    it('should answer with the code in the query, naming the issuer (RFC 9207)', async () => {
      const { callback } = await authorize({ response_mode: 'query' });
      expect(callback.searchParams.get('iss')).toBe(server.origin);
      expect(callback.searchParams.get('code')).toBeTruthy();
    });

    it('should answer with the code in the fragment when asked', async () => {
      const { verifier, state, callback } = await authorize({ response_mode: 'fragment' });
      expect(callback.search).toBe('');
      const fragment = new URLSearchParams(callback.hash.slice(1));
      expect(fragment.get('iss')).toBe(server.origin);
      const tokens = await redeem(oauth.validateAuthResponse(server.as, c(), fragment, state), verifier);
      expect(tokens.access_token).toBeTruthy();
    });

    it('should answer with a self-posting form when asked for form_post', async () => {
      const { verifier, challenge } = await pkce();
      const state = oauth.generateRandomState();
      const url = new URL(
        authorizationUrl(server.as, {
          clientId: client.clientId,
          redirectUri: REDIRECT_URI,
          scope: 'resources:read',
          state,
          challenge,
        }),
      );
      url.searchParams.set('response_mode', 'form_post');
      const browser = new FormBrowser(server.origin);
      const user = await signUp(server.t.http);
      const login = await readForm(await browser.follow(await browser.get(url.href)));
      const consent = await readForm(
        await browser.follow(
          await browser.post(login.actions[0] as string, {
            csrf: login.csrf,
            email: user.email,
            password: user.password,
          }),
        ),
      );
      const allow = consent.actions.find((action) => action.endsWith('/confirm')) as string;
      const page = await browser.follow(await browser.post(allow, { csrf: consent.csrf }));
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(html).toContain(`action="${REDIRECT_URI}"`);
      const field = (name: string) => new RegExp(`name="${name}" value="([^"]+)"`).exec(html)?.[1] ?? '';
      expect(field('state')).toBe(state);
      const posted = new URLSearchParams({ code: field('code'), state: field('state'), iss: field('iss') });
      const tokens = await redeem(oauth.validateAuthResponse(server.as, c(), posted, state), verifier);
      expect(tokens.access_token).toBeTruthy();
    });
  });

  describe('scopes beyond the registration', () => {
    it('should refuse with invalid_scope a client-credentials request for a scope the client may not have', async () => {
      const res = await oauth.clientCredentialsGrantRequest(
        server.as,
        c(),
        clientAuth(),
        { scope: 'resources:read users:manage' },
        insecure,
      );
      const body = (await res.json()) as { error?: string; scope?: string };
      expect(res.status).toBe(400);
      expect(body.error).toBe('invalid_scope');
      const unknown = await oauth.clientCredentialsGrantRequest(
        server.as,
        c(),
        clientAuth(),
        { scope: 'no-such-scope' },
        insecure,
      );
      expect(((await unknown.json()) as { error?: string }).error).toBe('invalid_scope');
    });

    it('should name the granted scope in every client-credentials token response', async () => {
      const tokens = await oauth.processClientCredentialsResponse(
        server.as,
        c(),
        await oauth.clientCredentialsGrantRequest(server.as, c(), clientAuth(), { scope: 'resources:read' }, insecure),
      );
      expect(tokens.scope).toBe('resources:read');
    });

    it('should refuse a code-flow request for a scope the client may not have, known or not', async () => {
      for (const scope of ['resources:read users:manage', 'resources:read no-such-scope']) {
        const { challenge } = await pkce();
        const url = authorizationUrl(server.as, {
          clientId: client.clientId,
          redirectUri: REDIRECT_URI,
          scope,
          state: 'st',
          challenge,
        });
        const res = await new FormBrowser(server.origin).get(url);
        expect(res.status, scope).toBe(303);
        const location = new URL(res.headers.get('location') as string);
        expect(`${location.origin}${location.pathname}`).toBe(REDIRECT_URI);
        expect(location.searchParams.get('error'), scope).toBe('invalid_scope');
      }
    });
  });
});

/**
 * An independent client's opinion: Python's Authlib fetches both metadata documents from the
 * issuer and validates them against RFC 8414 and OpenID Connect Discovery. Authlib insists on
 * an https issuer, so the server runs as it would behind a TLS-terminating proxy.
 */
describe('OAuth metadata as Authlib sees it', () => {
  const ISSUER = 'https://auth.example.test';
  let t: TestApp;
  let connectTo: string;

  beforeAll(async () => {
    const port = await freePort();
    t = await startTestApp({ PUBLIC_URL: ISSUER, TRUST_PROXY: 'loopback' });
    await t.app.listen(port, '127.0.0.1');
    connectTo = `http://127.0.0.1:${port}`;
  });
  afterAll(() => t?.close());

  it('should find nothing to complain about in either discovery document', async () => {
    const { stdout } = await promisify(execFile)(DEBIAN_PYTHON, [
      'test/conformance/authlib_metadata.py',
      ISSUER,
      connectTo,
    ]);
    expect(stdout).toContain(`${ISSUER}/.well-known/oauth-authorization-server: valid as AuthorizationServerMetadata`);
    expect(stdout).toContain(
      `${ISSUER}/.well-known/openid-configuration: valid as AuthorizationServerMetadata, OpenIDProviderMetadata`,
    );
  });
});

/**
 * `npm run cli -- keys:rotate` as an operator runs it: each rotation adds an ES256 and an
 * RS256 key; the server signs ID tokens with the newest RS256 one and still publishes the
 * retired ones until their tokens expire.
 */
describe('OAuth ID tokens after keys:rotate', () => {
  let dataDir: string;
  let server: OAuthServer;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'oauth-keys-'));
    for (let i = 0; i < 2; i++) expect((await runCli(keysRotate, [], { DATA_DIR: dataDir })).code).toBe(0);
    server = await startOAuthServer({ JWT_KEYS_FILE: join(dataDir, 'jwt-keys.json') });
  });
  afterAll(async () => {
    await server?.t.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('should sign ID tokens with the newest RS256 key and publish every key still verifying', async () => {
    const file = JSON.parse(await readFile(join(dataDir, 'jwt-keys.json'), 'utf8')) as {
      keys: { kid: string; alg: string; retired_at?: number }[];
    };
    expect(file.keys.map((key) => key.alg)).toEqual(['ES256', 'RS256', 'ES256', 'RS256']);
    const newestRsa = file.keys.find((key) => key.alg === 'RS256' && key.retired_at === undefined);
    const published = (await server.t.http.get('/.well-known/jwks.json').expect(200)).body as {
      keys: { kid: string }[];
    };
    expect(published.keys.map((key) => key.kid).sort()).toEqual(file.keys.map((key) => key.kid).sort());

    const client = await registerClient(server, {
      redirectUris: [REDIRECT_URI],
      grantTypes: ['authorization_code'],
      scopes: ['resources:read'],
      public: false,
    });
    const c = { client_id: client.clientId };
    const { verifier, challenge } = await pkce();
    const state = oauth.generateRandomState();
    const nonce = oauth.generateRandomNonce();
    const url = new URL(
      authorizationUrl(server.as, {
        clientId: client.clientId,
        redirectUri: REDIRECT_URI,
        scope: 'openid',
        state,
        challenge,
      }),
    );
    url.searchParams.set('nonce', nonce);
    const callback = await signInAndAllow(new FormBrowser(server.origin), url.href, await signUp(server.t.http));
    const tokens = await oauth.processAuthorizationCodeResponse(
      server.as,
      c,
      await oauth.authorizationCodeGrantRequest(
        server.as,
        c,
        oauth.ClientSecretBasic(client.clientSecret as string),
        oauth.validateAuthResponse(server.as, c, callback, state),
        REDIRECT_URI,
        verifier,
        insecure,
      ),
      { expectedNonce: nonce },
    );
    expect(decodeProtectedHeader(tokens.id_token as string)).toMatchObject({ alg: 'RS256', kid: newestRsa?.kid });
  });
});
