import * as oauth from 'oauth4webapi';
import type { Browser, BrowserContext, Page, Response } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { signUp, type SignedUpUser } from '../factories/auth.js';
import { launchChromium, RedirectTarget } from '../factories/chromium.js';
import {
  authorizationUrl,
  insecure,
  pkce,
  registerClient,
  startOAuthServer,
  type OAuthServer,
  type RegisteredClient,
} from '../factories/oauth-server.js';

const SCOPE = 'resources:read resources:write';
/** Script in every form a page could run it, if it were rendered as markup. */
const HOSTILE_NAME = `<script>alert('script')</script><img src=x onerror="alert('img')">`;

/**
 * The authorization code flow as a user sees it: Debian's Chromium, driven by
 * playwright-core, signs in and consents on the server-rendered pages and is sent back to a
 * client listening on a loopback port of its own.
 */
describe('OAuth sign-in and consent in a real browser', () => {
  let server: OAuthServer;
  let chromium: Browser;
  let target: RedirectTarget;
  let client: RegisteredClient;
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    chromium = await launchChromium();
    target = await RedirectTarget.start();
    server = await startOAuthServer();
    client = await registerClient(server, {
      name: 'Photo Printer',
      redirectUris: [target.uri],
      grantTypes: ['authorization_code'],
      scopes: ['resources:read', 'resources:write'],
      public: true,
    });
  });
  afterAll(async () => {
    await chromium?.close();
    await target?.close();
    await server?.t.close();
  });
  // A fresh profile per test: no cookie of an earlier sign-in carries over.
  beforeEach(async () => {
    context = await chromium.newContext();
    page = await context.newPage();
  });
  afterEach(() => context?.close());

  /** Starts an authorization request in the browser; resolves with the sign-in page's response. */
  async function authorize(clientId = client.clientId, state = oauth.generateRandomState()) {
    const { verifier, challenge } = await pkce();
    const url = authorizationUrl(server.as, { clientId, redirectUri: target.uri, scope: SCOPE, state, challenge });
    const response = await page.goto(url);
    expect(page.url()).toMatch(new RegExp(`^${server.origin}/oauth/interaction/`));
    expect(await page.getByRole('heading').textContent()).toBe('Sign in');
    return { response: response as Response, verifier, state };
  }

  async function signIn(user: SignedUpUser): Promise<void> {
    await page.getByLabel('Email').fill(user.email);
    await page.getByLabel('Password').fill(user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Allow access?' }).waitFor();
  }

  /** Clicks a button whose form posts back to the provider; resolves with where the browser arrived. */
  async function clickThroughToClient(button: string): Promise<URL> {
    const [arrived] = await Promise.all([target.next(), page.getByRole('button', { name: button }).click()]);
    await page.waitForURL((url) => url.href === arrived.href);
    return arrived;
  }

  it('should sign in, show the scopes in words, and come back with a code for the same state', async () => {
    const user = await signUp(server.t.http);
    const { verifier, state } = await authorize();
    await signIn(user);
    expect(await page.getByRole('main').textContent()).toContain('Photo Printer asks to act on your behalf');
    expect(await page.getByRole('listitem').allTextContents()).toEqual([
      'Read your resources',
      'Create, change and delete your resources',
    ]);

    const callback = await clickThroughToClient('Allow');
    expect(`${callback.origin}${callback.pathname}`).toBe(target.uri);
    expect(callback.searchParams.get('state')).toBe(state);
    const c = { client_id: client.clientId };
    // Checks state and the RFC 9207 issuer parameter again, as a careful client does.
    const params = oauth.validateAuthResponse(server.as, c, callback, state);
    const res = await oauth.authorizationCodeGrantRequest(
      server.as,
      c,
      oauth.None(),
      params,
      target.uri,
      verifier,
      insecure,
    );
    const tokens = await oauth.processAuthorizationCodeResponse(server.as, c, res);
    expect(tokens.scope).toBe(SCOPE);
    const resources = await server.t.http
      .get('/api/v1/resources')
      .set({ Authorization: `Bearer ${tokens.access_token}` });
    expect(resources.status).toBe(200);
    const me = await server.t.http.get('/api/v1/auth/me').set({ Authorization: `Bearer ${tokens.access_token}` });
    expect(me.body).toMatchObject({ id: user.id, authMethod: 'oauth' });
  });

  it('should send access_denied, with the same state and no code, when the user denies', async () => {
    const user = await signUp(server.t.http);
    const { state } = await authorize();
    await signIn(user);
    const callback = await clickThroughToClient('Deny');
    expect(`${callback.origin}${callback.pathname}`).toBe(target.uri);
    expect(callback.searchParams.get('error')).toBe('access_denied');
    expect(callback.searchParams.get('state')).toBe(state);
    expect(callback.searchParams.get('code')).toBeNull();
  });

  it('should serve the sign-in page under a strict CSP and show a hostile client name as text', async () => {
    const hostile = await registerClient(server, {
      name: HOSTILE_NAME,
      redirectUris: [target.uri],
      grantTypes: ['authorization_code'],
      scopes: ['resources:read', 'resources:write'],
      public: true,
    });
    const dialogs: string[] = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    const { response } = await authorize(hostile.clientId);

    const csp = (response.headers()['content-security-policy'] ?? '').split(';').map((part) => part.trim());
    expect(csp).toEqual([
      "default-src 'none'",
      `form-action 'self' ${new URL(target.uri).origin}`,
      "frame-ancestors 'none'",
      "base-uri 'none'",
    ]);
    expect(await page.locator('strong').textContent()).toBe(HOSTILE_NAME);
    expect(await page.locator('script, img').count()).toBe(0);

    // The browser holds the page to it: a script injected into the DOM is blocked and reported.
    const injected = await page.evaluate(
      () =>
        new Promise<{ ran: boolean; directive: string }>((resolve) => {
          const flag = 'injectedScriptRan';
          document.addEventListener(
            'securitypolicyviolation',
            (event) => resolve({ ran: flag in window, directive: event.effectiveDirective }),
            { once: true },
          );
          const script = document.createElement('script');
          script.textContent = `window.${flag} = true`;
          document.body.append(script);
        }),
    );
    expect(injected.ran).toBe(false);
    expect(injected.directive).toMatch(/^script-src/);
    expect(dialogs).toEqual([]);
  });

  it('should refuse the sign-in form without its CSRF token, or with the token of another browser', async () => {
    const user = await signUp(server.t.http);
    const otherContext = await chromium.newContext();
    const otherPage = await otherContext.newPage();
    await otherPage.goto(
      authorizationUrl(server.as, {
        clientId: client.clientId,
        redirectUri: target.uri,
        scope: SCOPE,
        state: oauth.generateRandomState(),
        challenge: (await pkce()).challenge,
      }),
    );
    const othersToken = await otherPage.locator('input[name=csrf]').first().inputValue();
    await otherContext.close();

    const tamperings: ((input: HTMLElement | SVGElement, token: string) => void)[] = [
      (input) => input.remove(),
      (input, token) => input.setAttribute('value', token),
    ];
    for (const tamper of tamperings) {
      await authorize();
      await page.locator('input[name=csrf]').first().evaluate(tamper, othersToken);
      await page.getByLabel('Email').fill(user.email);
      await page.getByLabel('Password').fill(user.password);
      const [refused] = await Promise.all([
        page.waitForResponse((res) => res.request().method() === 'POST' && res.url().endsWith('/login')),
        page.getByRole('button', { name: 'Sign in' }).click(),
      ]);
      expect(refused.status()).toBe(403);
      await page.getByText('The form expired').waitFor();
    }
  });
});
