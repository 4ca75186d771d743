import type { Response } from 'supertest';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditWriter } from '../../src/modules/audit/audit-writer.js';
import { logIn, signedIn, signedInAdmin, signUp, type TokenPair } from '../factories/auth.js';
import { startSession } from '../factories/session.js';
import { strongPassword } from '../factories/users.js';
import { startTestApp, type TestApp } from '../setup/test-app.js';
import { bearer } from '../support/http.js';

/**
 * Each credential type is used for audited actions and for refused ones; then neither the
 * audit table nor GET /api/v1/audit-events may hold the credential anywhere.
 */
describe('audit trail redaction', () => {
  let t: TestApp;
  let admin: TokenPair;
  beforeAll(async () => {
    t = await startTestApp();
    admin = (await signedInAdmin(t)).tokens;
  });
  afterAll(() => t.close());

  const createResource = (headers: Record<string, string>) =>
    t.http.post('/api/v1/resources').set(headers).send({ name: 'redaction probe', visibility: 'private' });
  const readAudit = (headers: Record<string, string>) => t.http.get('/api/v1/audit-events').set(headers);

  /** Every row of the table, every column, as one text. */
  async function tableText(): Promise<string> {
    const [row] = (await t.app
      .get(DataSource)
      .query(`SELECT coalesce(json_agg(e ORDER BY seq)::text, '') AS text FROM audit_events e`)) as { text: string }[];
    return row?.text ?? '';
  }

  /** Every page of GET /api/v1/audit-events, as one text. */
  async function apiText(): Promise<string> {
    const pages: unknown[] = [];
    let cursor: string | null = null;
    do {
      const res: Response = await t.http
        .get('/api/v1/audit-events')
        .query({ limit: 100, ...(cursor ? { cursor } : {}) })
        .set(bearer(admin.access_token));
      expect(res.status).toBe(200);
      pages.push(res.body.data);
      cursor = res.body.nextCursor as string | null;
    } while (cursor);
    return JSON.stringify(pages);
  }

  async function expectNowhereInAudit(secrets: Record<string, string>, actions: string[]): Promise<void> {
    await t.app.get(AuditWriter).drain();
    const [table, api] = [await tableText(), await apiText()];
    // The probes did reach the trail: otherwise "no secret" would prove nothing.
    for (const action of actions) expect(table, `no ${action} event`).toContain(`"action":"${action}"`);
    for (const [name, secret] of Object.entries(secrets)) {
      expect(secret.length, name).toBeGreaterThanOrEqual(8);
      expect(table.includes(secret), `${name} in audit_events`).toBe(false);
      expect(api.includes(secret), `${name} in GET /api/v1/audit-events`).toBe(false);
    }
  }

  it('should keep JWT bearer tokens out of the trail', async () => {
    const { tokens } = await signedIn(t.http);
    expect((await createResource(bearer(tokens.access_token))).status).toBe(201);
    expect((await readAudit(bearer(tokens.access_token))).status).toBe(403);
    // A token pasted into the query string of a refused (so audited) request.
    const query = await t.http
      .get(`/api/v1/audit-events?token=${tokens.access_token}`)
      .set(bearer(tokens.access_token));
    expect(query.status).toBe(403);
    expect((await t.http.post('/api/v1/auth/verify').send({ token: tokens.access_token })).status).toBe(200);
    await t.http
      .post('/api/v1/auth/logout')
      .set(bearer(tokens.access_token))
      .send({ refresh_token: tokens.refresh_token })
      .expect(204);
    expect((await createResource(bearer(tokens.access_token))).status).toBe(401);
    const [, payload, signature] = tokens.access_token.split('.') as [string, string, string];
    await expectNowhereInAudit({ jwt: tokens.access_token, payload, signature }, [
      'resource.create',
      'access.denied',
      'auth.logout',
    ]);
  });

  it('should keep personal tokens out of the trail', async () => {
    const { tokens } = await signedIn(t.http);
    const created = await t.http.post('/api/v1/auth/tokens').set(bearer(tokens.access_token)).send({ name: 'probe' });
    expect(created.status).toBe(201);
    const token = created.body.token as string;
    const withToken = { Authorization: `Token ${token}` };
    expect((await createResource(withToken)).status).toBe(201);
    expect((await readAudit(withToken)).status).toBe(403);
    await t.http
      .delete(`/api/v1/auth/tokens/${created.body.id as string}`)
      .set(bearer(tokens.access_token))
      .expect(204);
    expect((await createResource(withToken)).status).toBe(401);
    await expectNowhereInAudit({ token }, [
      'personal-token.create',
      'personal-token.delete',
      'resource.create',
      'access.denied',
    ]);
  });

  it('should keep session cookies and CSRF tokens out of the trail', async () => {
    const user = await signUp(t.http);
    const session = await startSession(t.http, user);
    const cookie = { Cookie: session.cookie };
    const csrf = { 'X-CSRF-Token': session.csrfToken };
    expect((await createResource({ ...cookie, ...csrf })).status).toBe(201);
    // No CSRF token, then a forged one: 403.
    expect((await createResource(cookie)).status).toBe(403);
    expect((await createResource({ ...cookie, 'X-CSRF-Token': `${session.csrfToken.slice(0, -4)}AAAA` })).status).toBe(
      403,
    );
    expect((await readAudit(cookie)).status).toBe(403);
    await t.http
      .delete('/api/v1/auth/session')
      .set({ ...cookie, ...csrf })
      .expect(204);
    expect((await createResource({ ...cookie, ...csrf })).status).toBe(401);
    await expectNowhereInAudit({ sid: session.sid, csrfCookie: session.csrfCookie, csrfToken: session.csrfToken }, [
      'resource.create',
      'access.denied',
      'auth.session.end',
    ]);
  });

  it('should keep API keys out of the trail', async () => {
    const { tokens } = await signedIn(t.http);
    const created = await t.http
      .post('/api/v1/api-keys')
      .set(bearer(tokens.access_token))
      .send({ name: 'probe', scopes: ['resources:read', 'resources:write'] });
    expect(created.status).toBe(201);
    const key = created.body.key as string;
    const [prefix, secret] = key.split('.') as [string, string];
    expect((await createResource({ 'X-API-Key': key })).status).toBe(201);
    expect((await createResource({ Authorization: `Api-Key ${key}` })).status).toBe(201);
    expect((await readAudit({ 'X-API-Key': key })).status).toBe(403);
    expect((await createResource({ 'X-API-Key': `${prefix}.${secret.slice(0, -4)}AAAA` })).status).toBe(401);
    const rotated = await t.http
      .post(`/api/v1/api-keys/${created.body.id as string}/rotate`)
      .set(bearer(tokens.access_token));
    expect(rotated.status).toBe(201);
    const newKey = rotated.body.key as string;
    expect((await createResource({ 'X-API-Key': key })).status).toBe(401);
    await t.http
      .delete(`/api/v1/api-keys/${created.body.id as string}`)
      .set(bearer(tokens.access_token))
      .expect(204);
    expect((await createResource({ 'X-API-Key': newKey })).status).toBe(401);
    await expectNowhereInAudit({ key, secret, newKey, newSecret: newKey.split('.')[1] as string }, [
      'api-key.create',
      'api-key.rotate',
      'api-key.revoke',
      'api-key.use',
      'resource.create',
      'access.denied',
    ]);
  });

  it('should keep refresh tokens out of the trail', async () => {
    const { tokens } = await signedIn(t.http);
    const rotated = await t.http.post('/api/v1/auth/refresh').send({ refresh_token: tokens.refresh_token });
    expect(rotated.status).toBe(200);
    // Reuse of the rotated token: the family dies, the event is audited.
    expect((await t.http.post('/api/v1/auth/refresh').send({ refresh_token: tokens.refresh_token })).status).toBe(401);
    expect((await t.http.post('/api/v1/auth/refresh').send({ refresh_token: rotated.body.refresh_token })).status).toBe(
      401,
    );
    const fresh = await logIn(t.http, (await signedIn(t.http)).user);
    await t.http.post('/api/v1/auth/logout').send({ refresh_token: fresh.refresh_token }).expect(204);
    await expectNowhereInAudit(
      { first: tokens.refresh_token, rotated: rotated.body.refresh_token as string, loggedOut: fresh.refresh_token },
      ['auth.refresh.reuse', 'auth.logout'],
    );
  });

  it('should keep passwords out of the trail', async () => {
    const user = await signUp(t.http);
    const wrong = `Wrong-${strongPassword()}`;
    const newPassword = strongPassword();
    expect((await t.http.post('/api/v1/auth/login').send({ email: user.email, password: wrong })).status).toBe(401);
    expect((await t.http.post('/api/v1/auth/session').send({ email: user.email, password: wrong })).status).toBe(401);
    const tokens = await logIn(t.http, user);
    const change = (currentPassword: string) =>
      t.http.post('/api/v1/auth/password').set(bearer(tokens.access_token)).send({ currentPassword, newPassword });
    expect((await change(wrong)).status).toBe(401);
    expect((await change(user.password)).status).toBe(204);
    await logIn(t.http, { email: user.email, password: newPassword });
    await expectNowhereInAudit({ password: user.password, wrong, newPassword }, ['auth.login', 'auth.password.change']);
  });
});
