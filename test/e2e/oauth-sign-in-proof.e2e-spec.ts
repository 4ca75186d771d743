import { setTimeout as sleep } from 'node:timers/promises';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUp, type SignedUpUser } from '../factories/auth.js';
import { totpCode, userWithTotp, type Authenticator } from '../factories/mfa.js';
import { FormBrowser, hiddenField, readForm } from '../factories/oauth.js';
import {
  allowConsent,
  authorizationUrl,
  insecure,
  pkce,
  postPassword,
  registerClient,
  startOAuthServer,
  type OAuthServer,
  type RegisteredClient,
} from '../factories/oauth-server.js';

const REDIRECT_URI = 'https://client.example.test/callback';

/**
 * How the user signed in reaches the relying party and the resource server: the ID token and
 * the introspection of the access token carry `auth_time` and `amr` (RFC 8176, the vocabulary
 * of first-party tokens), for a code redeemed after the real sign-in pages, and after a refresh.
 */
describe('OAuth: auth_time and amr in ID tokens and introspection', () => {
  let server: OAuthServer;
  let client: RegisteredClient;
  const c = () => ({ client_id: client.clientId });
  const clientAuth = () => oauth.ClientSecretBasic(client.clientSecret as string);

  beforeAll(async () => {
    server = await startOAuthServer({ LOCKOUT_MAX_FAILURES_PER_ADDRESS: '1000' });
    client = await registerClient(server, {
      redirectUris: [REDIRECT_URI],
      grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
      scopes: ['resources:read'],
      public: false,
    });
  });
  afterAll(() => server?.t.close());

  /**
   * The code flow with PKCE on the server-rendered pages: the password, then (for a user with
   * a factor) the TOTP code, then consent; answers the redeemed tokens.
   */
  async function signIn(user: SignedUpUser, authenticator?: Authenticator) {
    const browser = new FormBrowser(server.origin);
    const { verifier, challenge } = await pkce();
    const state = oauth.generateRandomState();
    const nonce = oauth.generateRandomNonce();
    const url = new URL(
      authorizationUrl(server.as, {
        clientId: client.clientId,
        redirectUri: REDIRECT_URI,
        scope: 'openid resources:read',
        state,
        challenge,
      }),
    );
    url.searchParams.set('nonce', nonce);
    let signedIn = await postPassword(browser, url.href, user);
    if (authenticator) {
      const page = await readForm(signedIn);
      signedIn = await browser.post(page.actions.find((action) => action.endsWith('/mfa')) as string, {
        csrf: page.csrf,
        mfaToken: hiddenField(page.html, 'mfaToken') as string,
        code: totpCode(authenticator, 1),
      });
    }
    expect(signedIn.status).toBe(303);
    const callback = await allowConsent(browser, signedIn);
    const params = oauth.validateAuthResponse(server.as, c(), callback, state);
    const res = await oauth.authorizationCodeGrantRequest(
      server.as,
      c(),
      clientAuth(),
      params,
      REDIRECT_URI,
      verifier,
      insecure,
    );
    return oauth.processAuthorizationCodeResponse(server.as, c(), res, { expectedNonce: nonce });
  }

  /** The ID token's claims, once its RS256 signature checks out against the published JWKS. */
  async function idTokenClaims(tokens: oauth.TokenEndpointResponse): Promise<JWTPayload> {
    const { payload } = await jwtVerify(
      tokens.id_token as string,
      createRemoteJWKSet(new URL(server.as.jwks_uri as string)),
      { issuer: server.origin, audience: client.clientId, algorithms: ['RS256'] },
    );
    return payload;
  }

  async function introspect(token: string) {
    return oauth.processIntrospectionResponse(
      server.as,
      c(),
      await oauth.introspectionRequest(server.as, c(), clientAuth(), token, insecure),
    );
  }

  it('should say a password sign-in (amr pwd) and when it was, in the ID token and the introspection', async () => {
    const user = await signUp(server.t.http);
    const before = Math.floor(Date.now() / 1000);
    const tokens = await signIn(user);
    const after = Math.ceil(Date.now() / 1000);

    const claims = await idTokenClaims(tokens);
    expect(claims.sub).toBe(user.id);
    expect(claims.amr).toEqual(['pwd']);
    expect(typeof claims.auth_time).toBe('number');
    expect(claims.auth_time).toBeGreaterThanOrEqual(before);
    expect(claims.auth_time).toBeLessThanOrEqual(after);

    const introspected = await introspect(tokens.access_token);
    expect(introspected).toMatchObject({
      active: true,
      sub: user.id,
      client_id: client.clientId,
      auth_time: claims.auth_time,
      amr: ['pwd'],
    });
  });

  it('should say the second factor was used (pwd, otp, mfa) when the user gave a TOTP code on the page', async () => {
    const { user, authenticator } = await userWithTotp(server.t.http);
    const before = Math.floor(Date.now() / 1000);
    const tokens = await signIn(user, authenticator);

    const claims = await idTokenClaims(tokens);
    expect(claims.amr).toEqual(['pwd', 'otp', 'mfa']);
    expect(claims.auth_time).toBeGreaterThanOrEqual(before);

    const introspected = await introspect(tokens.access_token);
    expect(introspected).toMatchObject({ active: true, auth_time: claims.auth_time, amr: ['pwd', 'otp', 'mfa'] });
  });

  it('should carry the sign-in through a refresh unchanged (refreshing is not signing in)', async () => {
    const { user, authenticator } = await userWithTotp(server.t.http);
    const tokens = await signIn(user, authenticator);
    const signedIn = await idTokenClaims(tokens);
    // A second later, so that a refresh stamping its own time would show.
    await sleep(1100);
    const refreshed = await oauth.processRefreshTokenResponse(
      server.as,
      c(),
      await oauth.refreshTokenGrantRequest(server.as, c(), clientAuth(), tokens.refresh_token as string, insecure),
    );
    const claims = await idTokenClaims(refreshed);
    expect(claims.iat).toBeGreaterThan(signedIn.iat as number);
    expect(claims).toMatchObject({ auth_time: signedIn.auth_time, amr: ['pwd', 'otp', 'mfa'] });
    const introspected = await introspect(refreshed.access_token);
    expect(introspected).toMatchObject({ active: true, auth_time: signedIn.auth_time, amr: ['pwd', 'otp', 'mfa'] });
  });

  it('should give a client-credentials token, which no user signed in for, neither auth_time nor amr', async () => {
    const tokens = await oauth.processClientCredentialsResponse(
      server.as,
      c(),
      await oauth.clientCredentialsGrantRequest(server.as, c(), clientAuth(), { scope: 'resources:read' }, insecure),
    );
    const introspected = await introspect(tokens.access_token);
    expect(introspected.active).toBe(true);
    expect(introspected).not.toHaveProperty('auth_time');
    expect(introspected).not.toHaveProperty('amr');
  });
});
