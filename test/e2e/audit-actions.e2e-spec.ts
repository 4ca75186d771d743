import type { Response } from 'supertest';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditWriter } from '../../src/modules/audit/audit-writer.js';
import { signedIn, signedInAdmin, signUp, type SignedUpUser } from '../factories/auth.js';
import { startSession } from '../factories/session.js';
import { newRegistration } from '../factories/users.js';
import { startTestApp, type TestApp } from '../setup/test-app.js';

interface AuditRow {
  action: string;
  actor_id: string | null;
  auth_method: string | null;
  outcome: string;
  status: number | null;
  target: string | null;
  request_id: string | null;
}

/** Each @Audited route: how to call it, and what its one event must say. */
describe('audited actions', () => {
  let t: TestApp;
  let admin: { user: SignedUpUser; tokens: { access_token: string } };
  beforeAll(async () => {
    t = await startTestApp();
    admin = await signedInAdmin(t);
  });
  afterAll(() => t.close());

  /** The events written for one request (by its X-Request-Id). */
  async function eventsOf(res: Response): Promise<AuditRow[]> {
    await t.app.get(AuditWriter).drain();
    return (await t.app
      .get(DataSource)
      .query('SELECT * FROM audit_events WHERE request_id = $1 ORDER BY seq', [
        res.headers['x-request-id'],
      ])) as AuditRow[];
  }

  async function expectOneEvent(res: Response, expected: Partial<AuditRow>): Promise<void> {
    const events = (await eventsOf(res)).filter((event) => event.action === expected.action);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ status: res.status, ...expected });
  }

  it('should record resource create, update and delete by the owner', async () => {
    const { user, tokens } = await signedIn(t.http);
    const auth = `Bearer ${tokens.access_token}`;
    const created = await t.http
      .post('/api/v1/resources')
      .set('Authorization', auth)
      .send({ name: 'a', visibility: 'private' });
    await expectOneEvent(created, {
      action: 'resource.create',
      outcome: 'success',
      actor_id: user.id,
      auth_method: 'jwt',
      target: created.body.id,
    });
    const id = created.body.id as string;
    const updated = await t.http.patch(`/api/v1/resources/${id}`).set('Authorization', auth).send({ name: 'b' });
    await expectOneEvent(updated, { action: 'resource.update', outcome: 'success', actor_id: user.id, target: id });
    const deleted = await t.http.delete(`/api/v1/resources/${id}`).set('Authorization', auth);
    await expectOneEvent(deleted, { action: 'resource.delete', outcome: 'success', actor_id: user.id, target: id });
    const missing = await t.http.delete(`/api/v1/resources/${id}`).set('Authorization', auth);
    await expectOneEvent(missing, { action: 'resource.delete', outcome: 'failure', target: id });
  });

  it('should record a self-registration, and one refused for a taken email', async () => {
    const registration = newRegistration();
    const created = await t.http.post('/api/v1/auth/register').send(registration);
    expect(created.status).toBe(201);
    await expectOneEvent(created, {
      action: 'user.register',
      outcome: 'success',
      actor_id: null,
      target: created.body.id,
    });
    const taken = await t.http.post('/api/v1/auth/register').send(registration);
    await expectOneEvent(taken, { action: 'user.register', outcome: 'failure', status: 409, target: null });
  });

  it('should record user update and delete by an admin', async () => {
    const other = await signUp(t.http);
    const auth = `Bearer ${admin.tokens.access_token}`;
    const patched = await t.http
      .patch(`/api/v1/users/${other.id}`)
      .set('Authorization', auth)
      .send({ displayName: 'Renamed' });
    await expectOneEvent(patched, {
      action: 'user.update',
      outcome: 'success',
      actor_id: admin.user.id,
      target: other.id,
    });
    const deleted = await t.http.delete(`/api/v1/users/${other.id}`).set('Authorization', auth);
    await expectOneEvent(deleted, {
      action: 'user.delete',
      outcome: 'success',
      actor_id: admin.user.id,
      target: other.id,
    });
  });

  it('should record API key creation, rotation and revocation', async () => {
    const { user, tokens } = await signedIn(t.http);
    const auth = `Bearer ${tokens.access_token}`;
    const created = await t.http
      .post('/api/v1/api-keys')
      .set('Authorization', auth)
      .send({ name: 'k', scopes: ['resources:read'] });
    await expectOneEvent(created, {
      action: 'api-key.create',
      outcome: 'success',
      actor_id: user.id,
      target: created.body.id,
    });
    const id = created.body.id as string;
    const rotated = await t.http.post(`/api/v1/api-keys/${id}/rotate`).set('Authorization', auth);
    await expectOneEvent(rotated, { action: 'api-key.rotate', outcome: 'success', target: id });
    const revoked = await t.http.delete(`/api/v1/api-keys/${id}`).set('Authorization', auth);
    await expectOneEvent(revoked, { action: 'api-key.revoke', outcome: 'success', target: id });
    const refused = await t.http.get('/api/v1/auth/me').set('X-API-Key', rotated.body.key as string);
    await expectOneEvent(refused, { action: 'api-key.use', outcome: 'denied', target: id, actor_id: user.id });
  });

  it('should record personal token creation and deletion', async () => {
    const { tokens } = await signedIn(t.http);
    const auth = `Bearer ${tokens.access_token}`;
    const created = await t.http.post('/api/v1/auth/tokens').set('Authorization', auth).send({ name: 'cli' });
    await expectOneEvent(created, { action: 'personal-token.create', outcome: 'success', target: created.body.id });
    const deleted = await t.http.delete(`/api/v1/auth/tokens/${created.body.id}`).set('Authorization', auth);
    await expectOneEvent(deleted, { action: 'personal-token.delete', outcome: 'success', target: created.body.id });
  });

  it('should record sign-in, session end, logout, refresh reuse and password change', async () => {
    const user = await signUp(t.http);
    const session = await startSession(t.http, user);
    const ended = await t.http
      .delete('/api/v1/auth/session')
      .set('Cookie', session.cookie)
      .set('X-CSRF-Token', session.csrfToken);
    await expectOneEvent(ended, {
      action: 'auth.session.end',
      outcome: 'success',
      actor_id: user.id,
      auth_method: 'session',
    });

    const login = await t.http.post('/api/v1/auth/login').send({ email: user.email, password: user.password });
    await expectOneEvent(login, { action: 'auth.login', outcome: 'success', actor_id: user.id, target: user.id });
    const refreshed = await t.http.post('/api/v1/auth/refresh').send({ refresh_token: login.body.refresh_token });
    const reuse = await t.http.post('/api/v1/auth/refresh').send({ refresh_token: login.body.refresh_token });
    await expectOneEvent(reuse, { action: 'auth.refresh.reuse', outcome: 'denied', actor_id: user.id });

    const fresh = await t.http.post('/api/v1/auth/login').send({ email: user.email, password: user.password });
    const logout = await t.http.post('/api/v1/auth/logout').send({ refresh_token: fresh.body.refresh_token });
    await expectOneEvent(logout, { action: 'auth.logout', outcome: 'success' });

    const again = await t.http.post('/api/v1/auth/login').send({ email: user.email, password: user.password });
    const changed = await t.http
      .post('/api/v1/auth/password')
      .set('Authorization', `Bearer ${again.body.access_token}`)
      .send({ currentPassword: user.password, newPassword: 'Another-Quartz-Orbit-4417!' });
    await expectOneEvent(changed, {
      action: 'auth.password.change',
      outcome: 'success',
      actor_id: user.id,
      target: user.id,
    });
    expect(refreshed.status).toBe(200);
  });

  it('should record a denial (403) and a rate-limit hit (429) as security events', async () => {
    const { tokens } = await signedIn(t.http);
    const denied = await t.http.get('/api/v1/users').set('Authorization', `Bearer ${tokens.access_token}`);
    await expectOneEvent(denied, { action: 'access.denied', outcome: 'denied', status: 403 });
  });
});
