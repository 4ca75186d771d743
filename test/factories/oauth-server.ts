import * as oauth from 'oauth4webapi';
import { expect } from 'vitest';
import { startTestApp, type TestApp, type TestAppOptions } from '../setup/test-app.js';
import { signedInAdmin, type SignedUpUser } from './auth.js';
import { freePort, type FormBrowser, readForm } from './oauth.js';

/** The app's issuer is plain http on loopback; oauth4webapi refuses that unless told. */
export const insecure = { [oauth.allowInsecureRequests]: true } as const;

export interface OAuthServer {
  t: TestApp;
  origin: string;
  as: oauth.AuthorizationServer;
  /** An admin's access token: registers clients, manages users. */
  adminToken: string;
  /** That admin's account (email and password sign in on the OAuth pages). */
  admin: SignedUpUser;
}

/**
 * The app listening on a free loopback port, with PUBLIC_URL naming that origin: the
 * provider builds every URL it hands out from the pinned origin, so a browser (or fetch)
 * must reach it there.
 */
export async function startOAuthServer(
  env: Record<string, string> = {},
  options: TestAppOptions = {},
): Promise<OAuthServer> {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const t = await startTestApp({ PUBLIC_URL: origin, ...env }, options);
  try {
    await t.app.listen(port, '127.0.0.1');
    const issuer = new URL(origin);
    const discovery = await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure });
    const as = await oauth.processDiscoveryResponse(issuer, discovery);
    const admin = await signedInAdmin(t);
    return { t, origin, as, adminToken: admin.tokens.access_token, admin: admin.user };
  } catch (error) {
    await t.close();
    throw error;
  }
}

export interface RegisteredClient {
  clientId: string;
  clientSecret?: string;
}

/** Registers a client through /api/v1/oauth-clients as the admin. */
export async function registerClient(
  server: OAuthServer,
  body: { name?: string; redirectUris: string[]; grantTypes: string[]; scopes: string[]; public: boolean },
): Promise<RegisteredClient> {
  const res = await server.t.http
    .post('/api/v1/oauth-clients')
    .set({ Authorization: `Bearer ${server.adminToken}` })
    .send({ name: 'Test client', ...body });
  expect(res.status).toBe(201);
  return res.body as RegisteredClient;
}

/** A PKCE S256 verifier and its challenge. */
export async function pkce(): Promise<{ verifier: string; challenge: string }> {
  const verifier = oauth.generateRandomCodeVerifier();
  return { verifier, challenge: await oauth.calculatePKCECodeChallenge(verifier) };
}

/** An authorization request for the code flow with PKCE S256. */
export function authorizationUrl(
  as: oauth.AuthorizationServer,
  params: { clientId: string; redirectUri: string; scope: string; state: string; challenge: string },
): string {
  const url = new URL(as.authorization_endpoint as string);
  url.search = new URLSearchParams({
    client_id: params.clientId,
    response_type: 'code',
    redirect_uri: params.redirectUri,
    scope: params.scope,
    state: params.state,
    code_challenge: params.challenge,
    code_challenge_method: 'S256',
  }).toString();
  return url.href;
}

/** Opens the sign-in page `url` leads to and posts the user's password; answers what the page answered. */
export async function postPassword(
  browser: FormBrowser,
  url: string,
  user: { email: string; password: string },
): Promise<Response> {
  const login = await readForm(await browser.follow(await browser.get(url)));
  return browser.post(login.actions[0] as string, { csrf: login.csrf, email: user.email, password: user.password });
}

/** Allows on the consent page `signedIn` leads to; returns where the provider sends the browser. */
export async function allowConsent(browser: FormBrowser, signedIn: Response): Promise<URL> {
  const consent = await readForm(await browser.follow(signedIn));
  const allow = consent.actions.find((action) => action.endsWith('/confirm')) as string;
  const done = await browser.follow(await browser.post(allow, { csrf: consent.csrf }));
  expect(done.status).toBe(303);
  return new URL(done.headers.get('location') as string);
}

/** Signs in and allows on the server-rendered pages; returns where the provider sends the browser. */
export async function signInAndAllow(
  browser: FormBrowser,
  url: string,
  user: { email: string; password: string },
): Promise<URL> {
  const signedIn = await postPassword(browser, url, user);
  expect(signedIn.status).toBe(303);
  return allowConsent(browser, signedIn);
}
