import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUp } from '../factories/auth.js';
import { newRegistration } from '../factories/users.js';
import { startTestApp, type TestApp } from '../setup/test-app.js';
import { expectProblem } from '../support/problem-details.js';

describe('HTTP platform', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('should answer malformed JSON with 400', async () => {
    const res = await t.http.post('/api/v1/auth/register').set('Content-Type', 'application/json').send('{"email":');
    expectProblem(res, 400);
  });

  it('should answer a text/plain body with 415', async () => {
    const res = await t.http.post('/api/v1/auth/register').set('Content-Type', 'text/plain').send('hello');
    expectProblem(res, 415);
  });

  it('should answer a form body with 415', async () => {
    const res = await t.http.post('/api/v1/auth/register').type('form').send({ email: 'a@b.c' });
    expectProblem(res, 415);
  });

  it('should answer a 101 kB body with 413', async () => {
    const body = JSON.stringify({ ...newRegistration(), displayName: 'x'.repeat(101 * 1000) });
    const res = await t.http.post('/api/v1/auth/register').set('Content-Type', 'application/json').send(body);
    expectProblem(res, 413);
  });

  it('should accept a body just under the limit and judge it on its content', async () => {
    const body = JSON.stringify({ ...newRegistration(), displayName: 'x'.repeat(99 * 1000) });
    const res = await t.http.post('/api/v1/auth/register').set('Content-Type', 'application/json').send(body);
    expectProblem(res, 400);
    expect(res.body.errors).toEqual([expect.objectContaining({ field: 'displayName' })]);
  });

  it('should refuse JSON nested deeper than the server accepts', async () => {
    const deep = '{"a":'.repeat(200) + '1' + '}'.repeat(200);
    const res = await t.http.post('/api/v1/auth/register').set('Content-Type', 'application/json').send(deep);
    expectProblem(res, 400);
  });

  it('should refuse a string that is not well-formed Unicode with 400, not 500', async () => {
    // A lone surrogate: JSON.parse accepts it, but validators throw on it (found by the fuzzer).
    const body = '{"email":"\\ud800","password":"Tidal-Orbit-00000000-Quartz!","displayName":"x"}';
    const res = await t.http.post('/api/v1/auth/register').set('Content-Type', 'application/json').send(body);
    expectProblem(res, 400);
  });

  it('should refuse NUL in a query string with 400, not a database error', async () => {
    expectProblem(await t.http.get('/api/v1/resources?q=%00'), 400);
  });

  it('should answer an unknown route with 404 problem+json', async () => {
    const missing = await t.http.get('/no/such/route');
    expectProblem(missing, 404);
    // In the project's own words, not Express's ("Cannot GET /no/such/route").
    expect(missing.body.detail).toBe('Nothing is served at this path with this method.');
    expectProblem(await t.http.post('/api/v1/nothing').send({}), 404);
  });

  it('should answer a route that needs a credential with 401 and WWW-Authenticate', async () => {
    // The global guard denies by default; until a route is public it is closed.
    const res = await t.http.get('/api/v1/auth/me');
    expect([401, 404]).toContain(res.status);
  });

  // docs/auth-flows.md: an unknown scheme counts as a credential that does not check out, and
  // such a credential is 401 on every route, public ones included: never served anonymously.
  it('should refuse an unknown Authorization scheme with 401 on public routes too', async () => {
    for (const authorization of ['Basic dXNlcjpwYXNzd29yZA==', 'Negotiate YIIGhgYGKwYBBQUCoIIGejCCBnag', 'Foo bar']) {
      for (const path of ['/health/live', '/api/v1/resources']) {
        expectProblem(await t.http.get(path).set('Authorization', authorization), 401);
      }
    }
  });

  it('should echo a well-formed X-Request-Id and replace a malformed one', async () => {
    const echoed = await t.http.get('/health/live').set('X-Request-Id', 'abc-123.req');
    expect(echoed.headers['x-request-id']).toBe('abc-123.req');
    const replaced = await t.http.get('/health/live').set('X-Request-Id', 'bad id\twith "quotes"');
    expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('should send the security headers on every response', async () => {
    for (const res of [await t.http.get('/health/live'), await t.http.get('/nope')]) {
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['content-security-policy']).toBe("default-src 'none';frame-ancestors 'none'");
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      expect(res.headers['cache-control']).toMatch(/no-store/);
      expect(res.headers['x-powered-by']).toBeUndefined();
      expect(res.headers['strict-transport-security']).toBeUndefined();
    }
  });

  it('should serve the OpenAPI document with a security scheme per credential type', async () => {
    const res = await t.http.get('/docs/openapi.json').expect(200);
    expect(Object.keys(res.body.components.securitySchemes).sort()).toEqual(
      ['apiKey', 'dpop', 'jwt', 'oauth2', 'personalToken', 'session'].sort(),
    );
    expect(res.body.paths['/api/v1/auth/register']).toBeDefined();
  });

  it('should report liveness and readiness', async () => {
    await t.http.get('/health/live').expect(200, { status: 'ok' });
    const ready = await t.http.get('/health/ready').expect(200);
    expect(ready.body.status).toBe('ok');
  });

  /**
   * SECURITY.md: an https PUBLIC_URL turns on HSTS and Secure cookies, and CORS_ORIGINS lists
   * the only browser origins that may read the API's answers (docs/contract.md: HSTS behind TLS).
   */
  describe('behind TLS, with one browser origin allowed', () => {
    const APP_ORIGIN = 'https://app.example.com';
    let tls: TestApp;
    beforeAll(async () => {
      tls = await startTestApp(
        { PUBLIC_URL: 'https://api.example.com', CORS_ORIGINS: APP_ORIGIN },
        { database: t.database },
      );
    });
    afterAll(() => tls.close());

    it('should send HSTS on every response', async () => {
      for (const res of [await tls.http.get('/health/live'), await tls.http.get('/nope')]) {
        expect(res.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
      }
    });

    it('should set the session and CSRF cookies Secure, the CSRF one host-only', async () => {
      const user = await signUp(tls.http);
      const res = await tls.http.post('/api/v1/auth/session').send({ email: user.email, password: user.password });
      expect(res.status).toBe(204);
      const cookies = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
      const sid = cookies.find((cookie) => cookie.startsWith('sid='));
      const csrf = cookies.find((cookie) => cookie.startsWith('__Host-csrf='));
      for (const cookie of [sid, csrf]) {
        expect(cookie).toBeDefined();
        expect(cookie).toMatch(/;\s*Secure(;|$)/i);
        expect(cookie).toMatch(/;\s*HttpOnly(;|$)/i);
      }
      expect(csrf).toMatch(/;\s*Path=\/(;|$)/);
      expect(csrf).not.toMatch(/;\s*Domain=/i);
    });

    it('should let the listed origin read answers, with credentials and the API headers exposed', async () => {
      const res = await tls.http.get('/health/live').set('Origin', APP_ORIGIN).expect(200);
      expect(res.headers['access-control-allow-origin']).toBe(APP_ORIGIN);
      expect(res.headers['access-control-allow-credentials']).toBe('true');
      expect(res.headers.vary).toMatch(/Origin/);
      expect(res.headers['access-control-expose-headers']).toMatch(/X-Request-Id/);
      const preflight = await tls.http
        .options('/api/v1/resources')
        .set({ Origin: APP_ORIGIN, 'Access-Control-Request-Method': 'POST' });
      expect(preflight.status).toBe(204);
      expect(preflight.headers['access-control-allow-origin']).toBe(APP_ORIGIN);
    });

    it('should give any other origin no CORS grant, on answers and on preflights', async () => {
      for (const origin of ['https://evil.example.com', 'https://app.example.com.evil.example', 'null']) {
        const res = await tls.http.get('/health/live').set('Origin', origin).expect(200);
        // Without Access-Control-Allow-Origin a browser shows the page nothing (the cors
        // package still sends Allow-Credentials, which grants nothing on its own).
        expect(res.headers['access-control-allow-origin'], origin).toBeUndefined();
        const preflight = await tls.http
          .options('/api/v1/resources')
          .set({ Origin: origin, 'Access-Control-Request-Method': 'POST' });
        expect(preflight.headers['access-control-allow-origin'], origin).toBeUndefined();
      }
    });
  });
});
