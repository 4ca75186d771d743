import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedIn } from '../factories/auth.js';
import { startTestApp, type TestApp } from '../setup/test-app.js';
import { expectProblem } from './problem-details.js';

describe('API keys (smoke)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('should create, use, rotate and revoke a key', async () => {
    const { tokens } = await signedIn(t.http);
    const auth = `Bearer ${tokens.access_token}`;
    const created = await t.http.post('/api/v1/api-keys').set('Authorization', auth).send({ name: 'ci', scopes: ['resources:read'] }).expect(201);
    expect(created.body.key).toMatch(/^nsak_[A-Za-z0-9_-]{12}\.[A-Za-z0-9_-]{43}$/);
    const key = created.body.key as string;
    const me = await t.http.get('/api/v1/auth/me').set('X-API-Key', key).expect(200);
    expect(me.body).toMatchObject({ authMethod: 'api-key', permissions: ['resources:read'] });
    await t.http.get('/api/v1/auth/me').set('Authorization', `Api-Key ${key}`).expect(200);
    expectProblem(await t.http.post('/api/v1/resources').set('X-API-Key', key).send({ name: 'x', visibility: 'public' }), 403);
    expectProblem(await t.http.post('/api/v1/api-keys').set('Authorization', auth).send({ name: 'x', scopes: ['users:manage'] }), 403);
    const rotated = await t.http.post(`/api/v1/api-keys/${created.body.id}/rotate`).set('Authorization', auth).expect(201);
    expectProblem(await t.http.get('/api/v1/auth/me').set('X-API-Key', key), 401);
    await t.http.get('/api/v1/auth/me').set('X-API-Key', rotated.body.key).expect(200);
    await t.http.delete(`/api/v1/api-keys/${created.body.id}`).set('Authorization', auth).expect(204);
    expectProblem(await t.http.get('/api/v1/auth/me').set('X-API-Key', rotated.body.key), 401);
  });
});
