import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newRegistration } from '../factories/users.js';
import { startTestApp, type TestApp } from '../setup/test-app.js';
import { expectProblem } from '../support/problem-details.js';

describe('POST /api/v1/auth/register', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('should create the user and show no password or hash', async () => {
    const body = newRegistration();
    const res = await t.http.post('/api/v1/auth/register').send(body).expect(201);
    expect(res.body).toMatchObject({
      email: body.email,
      displayName: body.displayName,
      roles: ['user'],
      isActive: true,
    });
    expect(res.body.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.text).not.toContain(body.password);
    expect(res.text).not.toMatch(/argon2|password/i);
  });

  it('should treat case and compatibility forms of one email as the same account', async () => {
    const local = `mixed${Date.now()}`;
    await t.http
      .post('/api/v1/auth/register')
      .send(newRegistration({ email: `${local.toUpperCase()}@X.com` }))
      .expect(201);
    for (const variant of [`${local}@x.com`, `${local}@ｘ.com`, `${local.toUpperCase()}@Ｘ.ＣＯＭ`]) {
      const res = await t.http.post('/api/v1/auth/register').send(newRegistration({ email: variant }));
      expectProblem(res, 409);
    }
  });

  it.each([
    ['too short', 'Sh0rt!pw'],
    ['all numeric', '123456789012345'],
    ['common', 'password123456'],
  ])('should refuse a %s password with 400 naming the field', async (_label, password) => {
    const res = await t.http.post('/api/v1/auth/register').send(newRegistration({ password }));
    expectProblem(res, 400);
    expect(res.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'password' })]));
  });

  it('should refuse a password too similar to the email', async () => {
    const res = await t.http
      .post('/api/v1/auth/register')
      .send(newRegistration({ email: 'marguerite.blackwood@example.test', password: 'marguerite.blackwood1' }));
    expectProblem(res, 400);
    expect(res.body.errors[0]).toMatchObject({ field: 'password', message: expect.stringMatching(/similar/) });
  });

  it.each(['roles', 'isActive', 'id', 'passwordHash'])(
    'should refuse the unknown field %s and create nothing',
    async (field) => {
      const body = { ...newRegistration(), [field]: field === 'roles' ? ['admin'] : 'x' };
      const res = await t.http.post('/api/v1/auth/register').send(body);
      expectProblem(res, 400);
      expect(res.body.errors).toEqual([expect.objectContaining({ field })]);
      // The same email is still free: nothing was stored.
      await t.http
        .post('/api/v1/auth/register')
        .send({ ...newRegistration(), email: body.email })
        .expect(201);
    },
  );

  it('should refuse __proto__ in the body', async () => {
    const res = await t.http
      .post('/api/v1/auth/register')
      .set('Content-Type', 'application/json')
      .send(`{"email":"p@example.test","password":"x","displayName":"p","__proto__":{"roles":["admin"]}}`);
    expectProblem(res, 400);
  });

  it('should refuse missing and wrongly typed fields, each named', async () => {
    const res = await t.http.post('/api/v1/auth/register').send({ email: 42, password: ['x'] });
    expectProblem(res, 400);
    const fields = (res.body.errors as { field: string }[]).map((e) => e.field);
    expect(new Set(fields)).toEqual(new Set(['email', 'password', 'displayName']));
  });
});
