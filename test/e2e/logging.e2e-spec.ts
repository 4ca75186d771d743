import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newRegistration } from '../factories/users.js';
import { startTestApp, type TestApp } from '../setup/test-app.js';

describe('request logging', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ LOG_LEVEL: 'trace' });
  });
  afterAll(() => t.close());

  it('should log one JSON line per request with id, method, route, status and latency', async () => {
    const res = await t.http.post('/api/v1/auth/register').send(newRegistration()).expect(201);
    const line = t.logs.lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => (l.req as { id?: string } | undefined)?.id === res.headers['x-request-id']);
    expect(line).toMatchObject({
      req: { method: 'POST', url: '/api/v1/auth/register' },
      route: '/api/v1/auth/register',
      res: { statusCode: 201 },
      responseTime: expect.any(Number),
    });
  });

  it('should log the routes Express serves before Nest, OAuth included, like the others', async () => {
    const res = await t.http.get('/oauth/auth?client_id=unknown-client');
    const line = t.logs.lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => (l.req as { id?: string } | undefined)?.id === res.headers['x-request-id']);
    expect(line).toMatchObject({
      reqId: res.headers['x-request-id'],
      req: { method: 'GET', url: '/oauth/auth?client_id=unknown-client' },
      res: { statusCode: res.status },
      responseTime: expect.any(Number),
      msg: 'request completed',
    });
  });

  it('should redact the tokens and codes of the OAuth routes it now logs', async () => {
    const secrets = { idToken: 'eyJhbGciOiJFUzI1NiJ9.aWQtdG9rZW4tc2VjcmV0.c2ln', code: 'oauth-code-secret-xyz' };
    await t.http.get(`/oauth/session/end?id_token_hint=${secrets.idToken}`);
    await t.http.get(`/oauth/auth?client_id=unknown-client&code=${secrets.code}`);
    const text = t.logs.text();
    expect(text).toContain('/oauth/session/end?id_token_hint=%5Bredacted%5D');
    for (const secret of Object.values(secrets)) expect(text).not.toContain(secret);
  });

  it('should never write a password, bearer token, API key or cookie to the log', async () => {
    const body = newRegistration();
    const secrets = {
      password: body.password,
      bearer: 'eyJhbGciOiJFZERTQSJ9.c2VjcmV0LWJlYXJlci10b2tlbg.c2ln',
      apiKey: 'sk_live_abcdef.0123456789secretpart',
      cookie: 'sid=session-secret-value-123',
      queryToken: 'query-secret-token-xyz',
    };
    await t.http
      .post(`/api/v1/auth/register?token=${secrets.queryToken}`)
      .set('Authorization', `Bearer ${secrets.bearer}`)
      .set('X-API-Key', secrets.apiKey)
      .set('Cookie', secrets.cookie)
      .send(body);
    // A failing request too, which takes the error path of the logger.
    await t.http
      .post('/api/v1/auth/register')
      .set('Authorization', `Bearer ${secrets.bearer}`)
      .send({ ...body, extra: 1 });
    const text = t.logs.text();
    expect(text).toContain('/api/v1/auth/register');
    for (const secret of Object.values(secrets)) expect(text).not.toContain(secret);
    expect(text).not.toMatch(/\$argon2/);
  });
});
