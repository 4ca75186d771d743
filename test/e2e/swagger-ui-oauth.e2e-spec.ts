import type { Browser, BrowserContext, Page, Response } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUp, type SignedUpUser } from '../factories/auth.js';
import { launchChromium } from '../factories/chromium.js';
import {
  registerClient,
  startOAuthServer,
  type OAuthServer,
  type RegisteredClient,
} from '../factories/oauth-server.js';

interface OAuthFlows {
  authorizationCode: { authorizationUrl: string; tokenUrl: string };
  clientCredentials: { tokenUrl: string };
}

/** Opens GET /api/v1/auth/me in Swagger UI, tries it out and executes it; resolves with the answer. */
async function callGetCurrentUser(page: Page): Promise<Response> {
  const operation = page.locator('#operations-auth-getCurrentUser');
  await operation.waitFor();
  // Swagger UI remembers which operations were open.
  if (!(await operation.getAttribute('class'))?.includes('is-open')) {
    await operation.locator('.opblock-summary-control').click();
  }
  await operation.getByRole('button', { name: 'Try it out' }).click();
  const [response] = await Promise.all([
    page.waitForResponse((res) => res.url().endsWith('/api/v1/auth/me')),
    operation.getByRole('button', { name: 'Execute' }).click(),
  ]);
  return response;
}

/**
 * What a developer does at /docs: authorize Swagger UI with the OAuth code flow (PKCE made
 * in the browser, sign-in and consent in its popup), then try a protected operation.
 * Debian's Chromium through playwright-core.
 */
describe('Swagger UI authorizing through the OAuth code flow with PKCE', () => {
  let server: OAuthServer;
  let chromium: Browser;
  let context: BrowserContext;
  let page: Page;
  let client: RegisteredClient;
  let user: SignedUpUser;

  beforeAll(async () => {
    chromium = await launchChromium();
    server = await startOAuthServer();
    client = await registerClient(server, {
      name: 'API docs',
      redirectUris: [`${server.origin}/docs/oauth2-redirect.html`],
      grantTypes: ['authorization_code'],
      scopes: ['resources:read', 'resources:write'],
      public: true,
    });
    user = await signUp(server.t.http);
    context = await chromium.newContext();
    context.setDefaultTimeout(8_000);
    page = await context.newPage();
  });
  afterAll(async () => {
    await context?.close();
    await chromium?.close();
    await server?.t.close();
  });

  it('should describe the endpoints the authorization server’s discovery document names', async () => {
    // The issuer may move (PUBLIC_URL or PUBLIC_URL/oauth); the RFC 8414 alias at the root answers either way.
    const discovery = (await server.t.http.get('/.well-known/oauth-authorization-server').expect(200)).body as {
      authorization_endpoint: string;
      token_endpoint: string;
      code_challenge_methods_supported: string[];
    };
    const document = (await server.t.http.get('/docs/openapi.json').expect(200)).body as {
      components: { securitySchemes: { oauth2: { flows: OAuthFlows } } };
    };
    const { flows } = document.components.securitySchemes.oauth2;
    expect(flows.authorizationCode.authorizationUrl).toBe(discovery.authorization_endpoint);
    expect(flows.authorizationCode.tokenUrl).toBe(discovery.token_endpoint);
    expect(flows.clientCredentials.tokenUrl).toBe(discovery.token_endpoint);
    expect(discovery.code_challenge_methods_supported).toEqual(['S256']);
  });

  it('should sign in and consent in the popup, then call a protected operation with the token', async () => {
    await page.goto(`${server.origin}/docs`);
    await page.getByRole('button', { name: 'Authorize' }).first().click();
    const codeFlow = page.locator('.modal-ux .auth-container').filter({ hasText: 'authorizationCode with PKCE' });
    await codeFlow.locator('#client_id_authorizationCode').fill(client.clientId);
    await codeFlow.locator('label[for="resources:read-authorizationCode-checkbox-oauth2"]').click();
    await expect(codeFlow.locator('[id="resources:read-authorizationCode-checkbox-oauth2"]').isChecked()).resolves.toBe(
      true,
    );

    const authorizationRequests: URL[] = [];
    context.on('request', (request) => {
      const url = new URL(request.url());
      if (url.pathname === '/oauth/auth') authorizationRequests.push(url);
    });
    const [popup] = await Promise.all([
      context.waitForEvent('page'),
      codeFlow.getByRole('button', { name: 'Apply given OAuth2 credentials' }).click(),
    ]);
    await popup.getByLabel('Email').waitFor();
    const authorizeUrl = authorizationRequests[0];
    expect(authorizeUrl?.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorizeUrl?.searchParams.get('code_challenge')).toMatch(/^[\w-]{43}$/);
    expect(authorizeUrl?.searchParams.get('client_id')).toBe(client.clientId);
    await popup.getByLabel('Email').fill(user.email);
    await popup.getByLabel('Password').fill(user.password);
    await popup.getByRole('button', { name: 'Sign in' }).click();
    // The redirect page hands the code to Swagger UI, which redeems it with its verifier.
    const closed = popup.waitForEvent('close');
    await popup.getByRole('button', { name: 'Allow' }).click();
    await closed;
    await codeFlow.getByRole('button', { name: /logout|remove/i }).waitFor();
    await codeFlow.getByRole('button', { name: 'Close' }).click();

    const response = await callGetCurrentUser(page);
    expect(response.status()).toBe(200);
    expect(response.request().headers().authorization).toMatch(/^Bearer /);
    expect(await response.json()).toMatchObject({ id: user.id, authMethod: 'oauth' });
    await expect(
      page
        .locator('#operations-auth-getCurrentUser')
        .locator('.live-responses-table tbody .response-col_status')
        .first()
        .textContent(),
    ).resolves.toBe('200');
  });

  it('should keep the authorization in a new tab of the same browser (persistAuthorization)', async () => {
    const later = await context.newPage();
    await later.goto(`${server.origin}/docs`);
    const response = await callGetCurrentUser(later);
    expect(response.status()).toBe(200);
    expect(await response.json()).toMatchObject({ id: user.id, authMethod: 'oauth' });
  });
});
