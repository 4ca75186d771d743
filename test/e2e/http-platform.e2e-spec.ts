import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
});
