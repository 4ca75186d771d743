import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUp } from '../factories/auth.js';
import { FormBrowser, readForm } from '../factories/oauth.js';
import {
  authorizationUrl,
  pkce,
  registerClient,
  startOAuthServer,
  type OAuthServer,
  type RegisteredClient,
} from '../factories/oauth-server.js';

const REDIRECT_URI = 'https://client.example.test/callback';

/** Values no parameter may carry, percent-encoded as a client would send them. */
const HOSTILE: Record<string, string> = {
  'a NUL byte': 'a%00b',
  'a lone surrogate (its UTF-8 bytes)': 'a%ED%A0%80b',
  'bytes that are not UTF-8': 'a%FFb',
  'an overlong value': 'x'.repeat(5_000),
};

/**
 * Hostile parameter values at every endpoint of the authorization server: each is a 400 with
 * the OAuth error JSON, never a 500 and never an error log line (oidc-provider used to hand a
 * NUL to Postgres). And a form posted out of step with the sign-in answers at once.
 */
describe('OAuth endpoints under malformed input', () => {
  let server: OAuthServer;
  let client: RegisteredClient;
  let basic: string;

  beforeAll(async () => {
    server = await startOAuthServer();
    client = await registerClient(server, {
      redirectUris: [REDIRECT_URI],
      grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
      scopes: ['resources:read'],
      public: false,
    });
    basic = `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret as string}`).toString('base64')}`;
  });
  afterAll(() => server?.t.close());

  const errorLines = () => server.t.logs.lines.filter((line) => (JSON.parse(line) as { level: number }).level >= 50);

  async function form(path: string, body: string, authenticated = true) {
    const res = await fetch(`${server.origin}/oauth${path}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        ...(authenticated ? { authorization: basic } : {}),
      },
      body,
    });
    return { status: res.status, body: (await res.json()) as { error?: string } };
  }

  it('should answer 400 invalid_request at the token, introspection, revocation and PAR endpoints', async () => {
    const before = errorLines().length;
    for (const [what, bad] of Object.entries(HOSTILE)) {
      const requests: [string, string, boolean][] = [
        ['/token', `grant_type=client_credentials&client_id=${bad}`, false],
        ['/token', `grant_type=refresh_token&refresh_token=${bad}`, true],
        ['/token', `grant_type=authorization_code&code=${bad}&redirect_uri=${REDIRECT_URI}&code_verifier=v`, true],
        ['/token', `grant_type=client_credentials&scope=resources:read&${bad}=1`, true],
        ['/token/introspection', `token=${bad}`, true],
        ['/token/revocation', `token=${bad}&token_type_hint=access_token`, true],
        ['/request', `response_type=code&redirect_uri=${REDIRECT_URI}&state=${bad}`, true],
      ];
      for (const [path, body, authenticated] of requests) {
        const res = await form(path, body, authenticated);
        expect(res, `${what} at ${path}: ${body.slice(0, 60)}`).toMatchObject({
          status: 400,
          body: { error: 'invalid_request' },
        });
      }
    }
    expect(errorLines().slice(before)).toEqual([]);
  });

  it('should answer 400 invalid_request at the authorization endpoint, by query or form', async () => {
    const before = errorLines().length;
    const { challenge } = await pkce();
    for (const [what, bad] of Object.entries(HOSTILE)) {
      for (const name of ['client_id', 'state', 'redirect_uri', 'nonce']) {
        const url = new URL(
          authorizationUrl(server.as, {
            clientId: client.clientId,
            redirectUri: REDIRECT_URI,
            scope: 'resources:read',
            state: 'st',
            challenge,
          }),
        );
        url.searchParams.delete(name);
        const query = `${url.search.slice(1)}&${name}=${bad}`;
        const byQuery = await fetch(`${url.origin}${url.pathname}?${query}`, { redirect: 'manual' });
        expect(byQuery.status, `${what} in ${name}`).toBe(400);
        expect(await byQuery.json()).toMatchObject({ error: 'invalid_request' });
        const byForm = await form('/auth', query, false);
        expect(byForm.status, `${what} in ${name}, posted`).toBe(400);
      }
    }
    expect(errorLines().slice(before)).toEqual([]);
  });

  it('should answer 413 to a form body over 16 kB, before the provider reads it', async () => {
    const res = await fetch(`${server.origin}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic },
      body: `grant_type=client_credentials&${'a=b&'.repeat(5_000)}`,
    });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: 'invalid_request' });
  });

  it('should refuse a client id with NUL in HTTP Basic without touching the database', async () => {
    const before = errorLines().length;
    const res = await fetch(`${server.origin}/oauth/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from('a%00b:secret').toString('base64')}`,
      },
      body: 'grant_type=client_credentials',
    });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(errorLines().slice(before)).toEqual([]);
  });

  it('should still take well-formed parameters, non-ASCII ones included', async () => {
    const res = await form('/token', 'grant_type=client_credentials&scope=resources%3Aread');
    expect(res.status).toBe(200);
    const { challenge } = await pkce();
    const url = new URL(
      authorizationUrl(server.as, {
        clientId: client.clientId,
        redirectUri: REDIRECT_URI,
        scope: 'resources:read',
        state: 'état-✓',
        challenge,
      }),
    );
    const page = await new FormBrowser(server.origin).get(url.href);
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toMatch(/^\/oauth\/interaction\//);
  });

  describe('forms out of step with the sign-in', () => {
    /** A browser at the sign-in page of a fresh authorization request. */
    async function atSignIn() {
      const browser = new FormBrowser(server.origin);
      const url = authorizationUrl(server.as, {
        clientId: client.clientId,
        redirectUri: REDIRECT_URI,
        scope: 'resources:read',
        state: oauth.generateRandomState(),
        challenge: (await pkce()).challenge,
      });
      const login = await readForm(await browser.follow(await browser.get(url)));
      const uidPath = (login.actions[0] as string).replace(/\/login$/, '');
      return { browser, login, uidPath };
    }

    it('should refuse hostile values in the sign-in form without a 500', async () => {
      const before = errorLines().length;
      for (const [what, bad] of Object.entries(HOSTILE)) {
        const { browser, login } = await atSignIn();
        const res = await fetch(new URL(login.actions[0] as string, server.origin), {
          method: 'POST',
          redirect: 'manual',
          headers: { cookie: browser.jar.header(), 'content-type': 'application/x-www-form-urlencoded' },
          body: `csrf=${encodeURIComponent(login.csrf)}&email=${bad}&password=${bad}`,
        });
        expect(res.status, what).toBeGreaterThanOrEqual(400);
        expect(res.status, what).toBeLessThan(500);
      }
      expect(errorLines().slice(before)).toEqual([]);
    });

    it('should answer the consent form posted while sign-in is due with a clear 400 at once', async () => {
      const { browser, login, uidPath } = await atSignIn();
      const res = await browser.post(`${uidPath}/confirm`, { csrf: login.csrf });
      expect(res.status).toBe(400);
      expect(await res.text()).toContain('The next step is signing in');
    });

    it('should answer the sign-in form posted again at the consent step with a clear 400 at once', async () => {
      const user = await signUp(server.t.http);
      const { browser, login } = await atSignIn();
      const signedIn = await browser.post(login.actions[0] as string, {
        csrf: login.csrf,
        email: user.email,
        password: user.password,
      });
      expect(signedIn.status).toBe(303);
      const consent = await readForm(await browser.follow(signedIn));
      const consentPath = (consent.actions[0] as string).replace(/\/(confirm|abort)$/, '');
      const res = await browser.post(`${consentPath}/login`, {
        csrf: consent.csrf,
        email: user.email,
        password: user.password,
      });
      expect(res.status).toBe(400);
      expect(await res.text()).toContain('The next step is allowing or denying access');
    });
  });
});
