import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedIn, signedInAdmin } from '../factories/auth.js';
import { startTestApp, type TestApp } from '../setup/test-app.js';
import { expectProblem } from './problem-details.js';

describe('resources and users (smoke)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('should run the CRUD cycle with ETag, If-Match and visibility', async () => {
    const alice = await signedIn(t.http);
    const bob = await signedIn(t.http);
    const auth = (s: { tokens: { access_token: string } }) => `Bearer ${s.tokens.access_token}`;
    const created = await t.http.post('/api/v1/resources').set('Authorization', auth(alice)).send({ name: 'Plan 50% off', visibility: 'private' }).expect(201);
    expect(created.headers.location).toBe(`/api/v1/resources/${created.body.id}`);
    expect(created.headers.etag).toBe('"1"');
    const id = created.body.id as string;
    expectProblem(await t.http.get(`/api/v1/resources/${id}`).set('Authorization', auth(bob)), 404);
    expectProblem(await t.http.get(`/api/v1/resources/${id}`), 404);
    expectProblem(await t.http.patch(`/api/v1/resources/${id}`).set('Authorization', auth(bob)).send({ name: 'x' }), 404);
    const patched = await t.http.patch(`/api/v1/resources/${id}`).set('Authorization', auth(alice)).set('If-Match', '"1"').send({ visibility: 'public' }).expect(200);
    expect(patched.body.version).toBe(2);
    expectProblem(await t.http.patch(`/api/v1/resources/${id}`).set('Authorization', auth(alice)).set('If-Match', '"1"').send({ name: 'y' }), 412);
    await t.http.get(`/api/v1/resources/${id}`).expect(200);
    expectProblem(await t.http.delete(`/api/v1/resources/${id}`).set('Authorization', auth(bob)), 403);
    const list = await t.http.get('/api/v1/resources?q=%25&limit=5').expect(200);
    expect(list.body.data.map((r: { id: string }) => r.id)).toContain(id);
    const injected = await t.http.get(`/api/v1/resources?q=${encodeURIComponent("'; drop table resources; --")}`).expect(200);
    expect(injected.body).toEqual({ data: [], nextCursor: null });
    await t.http.delete(`/api/v1/resources/${id}`).set('Authorization', auth(alice)).expect(204);
    expectProblem(await t.http.get(`/api/v1/resources/${id}`).set('Authorization', auth(alice)), 404);
    expectProblem(await t.http.get('/api/v1/resources?cursor=bogus'), 400);
  });

  it('should paginate with a cursor', async () => {
    const carol = await signedIn(t.http);
    for (let i = 0; i < 5; i++) {
      await t.http.post('/api/v1/resources').set('Authorization', `Bearer ${carol.tokens.access_token}`).send({ name: `page-${i}`, visibility: 'private' }).expect(201);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await t.http.get('/api/v1/resources').query({ limit: 2, ...(cursor ? { cursor } : {}) }).set('Authorization', `Bearer ${carol.tokens.access_token}`).expect(200);
      seen.push(...res.body.data.map((r: { name: string }) => r.name));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(seen.filter((n) => n.startsWith('page-'))).toEqual(['page-4', 'page-3', 'page-2', 'page-1', 'page-0']);
  });

  it('should let admins manage users and refuse everyone else', async () => {
    const admin = await signedInAdmin(t);
    const dave = await signedIn(t.http);
    expectProblem(await t.http.get('/api/v1/users').set('Authorization', `Bearer ${dave.tokens.access_token}`), 403);
    await t.http.get(`/api/v1/users/${dave.user.id}`).set('Authorization', `Bearer ${dave.tokens.access_token}`).expect(200);
    expectProblem(await t.http.patch(`/api/v1/users/${dave.user.id}`).set('Authorization', `Bearer ${dave.tokens.access_token}`).send({ roles: ['admin'] }), 403);
    await t.http.get('/api/v1/users').set('Authorization', `Bearer ${admin.tokens.access_token}`).expect(200);
    await t.http.patch(`/api/v1/users/${dave.user.id}`).set('Authorization', `Bearer ${admin.tokens.access_token}`).send({ isActive: false }).expect(200);
    expectProblem(await t.http.get('/api/v1/auth/me').set('Authorization', `Bearer ${dave.tokens.access_token}`), 401);
    expectProblem(await t.http.patch(`/api/v1/users/${admin.user.id}`).set('Authorization', `Bearer ${admin.tokens.access_token}`).send({ roles: ['user'] }), 409);
  });
});
