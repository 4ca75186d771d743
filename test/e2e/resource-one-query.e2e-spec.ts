import { DataSource } from 'typeorm';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { AuditWriter } from '../../src/modules/audit/audit-writer.js';
import { signedIn } from '../factories/auth.js';
import { outboxDrained } from '../factories/mail.js';
import { spyOnSql } from '../setup/sql-spy.js';
import { startTestApp, type TestApp } from '../setup/test-app.js';

const REQUESTS = 10;

/**
 * The JWT check costs no SQL, nor does a verified personal token's, and the scope is part of
 * the WHERE clause, so reading one resource is one statement: no second look-up for the
 * owner, the caller or the policy.
 */
describe('GET /api/v1/resources/:id with a JWT or a personal token', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());
  afterEach(() => {
    vi.restoreAllMocks();
  });

  /** A resource of a user just signed up, its path and that user's Authorization header. */
  async function ownResource(visibility: 'private' | 'public'): Promise<{ auth: string; path: string }> {
    const { tokens } = await signedIn(t.http);
    const auth = `Bearer ${tokens.access_token}`;
    const created = await t.http
      .post('/api/v1/resources')
      .set('Authorization', auth)
      .send({ name: 'counted', visibility })
      .expect(201);
    return { auth, path: `/api/v1/resources/${created.body.id}` };
  }

  async function expectOneStatementPerRequest(path: string, auth: string, status: number): Promise<void> {
    const sql = spyOnSql();
    await t.http.get(path).set('Authorization', auth).expect(status);
    // The warm-up went through the spy too: it watches this app's database.
    expect(sql.statements().length).toBeGreaterThan(0);
    // Signing up, in and creating are audited; their buffered events must not land mid-count.
    await t.app.get(AuditWriter).drain();
    sql.reset();
    for (let i = 0; i < REQUESTS; i++) await t.http.get(path).set('Authorization', auth).expect(status);
    // Whatever the requests left to write later (an audit event) counts against them too.
    await t.app.get(AuditWriter).drain();
    expect(sql.statements(), sql.statements().join('\n')).toHaveLength(REQUESTS);
    expect(sql.statements().every((statement) => /^\s*SELECT\b[\s\S]*\bFROM "?resources"?\s/i.test(statement))).toBe(
      true,
    );
  }

  it(`should issue exactly one SQL statement per request, ${REQUESTS} for ${REQUESTS}`, async () => {
    const { auth, path } = await ownResource('private');
    await expectOneStatementPerRequest(path, auth, 200);
  });

  it('should issue exactly one SQL statement for a resource the caller may not see (404)', async () => {
    const { path } = await ownResource('private');
    const stranger = await signedIn(t.http);
    await expectOneStatementPerRequest(path, `Bearer ${stranger.tokens.access_token}`, 404);
  });

  it('should send that statement prepared (named), one name per kind of scope, so Postgres plans it once per connection', async () => {
    const { auth, path } = await ownResource('public');
    await t.app.get(AuditWriter).drain();
    const sql = spyOnSql();
    await t.http.get(path).set('Authorization', auth).expect(200);
    await t.http.get(path).expect(200);
    await t.http.get(path).set('Authorization', auth).expect(200);
    expect(sql.names()).toEqual([
      'resource-in-scope-public-or-owned',
      'resource-in-scope-public',
      'resource-in-scope-public-or-owned',
    ]);
  });

  it('should list with prepared statements, one per shape of query whatever the values, so the names stay few', async () => {
    const { tokens } = await signedIn(t.http);
    const auth = `Bearer ${tokens.access_token}`;
    // Signing up and in leave audit events and a welcome mail to write; their statements
    // (unnamed) must not land mid-count.
    await t.app.get(AuditWriter).drain();
    await outboxDrained(t.app);
    const sql = spyOnSql();
    const searches = ['a', '%', 'zz_', 'x\\y', 'another'];
    for (const q of searches) await t.http.get('/api/v1/resources').query({ q, limit: 5 }).expect(200);
    for (const limit of [1, 2, 50]) {
      await t.http
        .get('/api/v1/resources')
        .query({ limit, visibility: 'public' })
        .set('Authorization', auth)
        .expect(200);
    }
    const names = sql.names();
    expect(
      names.every((name) => name?.startsWith('resource-list-')),
      sql.statements().join('\n'),
    ).toBe(true);
    // Five searches, one shape; three limits with a filter, signed in, another.
    expect(new Set(names.slice(0, searches.length)).size).toBe(1);
    expect(new Set(names).size).toBe(2);
  });

  it('should create a resource with one prepared INSERT, not wrapped in a transaction of its own', async () => {
    const { tokens } = await signedIn(t.http);
    await t.app.get(AuditWriter).drain();
    const sql = spyOnSql();
    await t.http
      .post('/api/v1/resources')
      .set('Authorization', `Bearer ${tokens.access_token}`)
      .send({ name: 'one statement', visibility: 'private' })
      .expect(201);
    const connection = sql.clientOf('resource-insert');
    expect(connection, sql.statements().join('\n')).toBeDefined();
    // What else that connection sent came after the answer (the audit writer's batch).
    const sent = sql.statementsOf(connection);
    expect(sent[0], sent.join('\n')).toMatch(/^INSERT INTO resources\b/);
    expect(sent[1] ?? '', sent.join('\n')).not.toMatch(/^COMMIT/);
  });

  it('should issue exactly one SQL statement per request with a personal token too, once it is verified', async () => {
    const { auth, path } = await ownResource('private');
    const pat = await t.http
      .post('/api/v1/auth/tokens')
      .set('Authorization', auth)
      .send({ name: 'counted' })
      .expect(201);
    const withToken = `Token ${pat.body.token}`;
    await t.http.get(path).set('Authorization', withToken).expect(200);
    // The first use's "last used" write is off the request path: it must not land mid-count.
    await vi.waitFor(async () => {
      const [row] = (await t.app
        .get(DataSource)
        .query('SELECT last_used_at FROM personal_tokens WHERE id = $1', [pat.body.id])) as {
        last_used_at: Date | null;
      }[];
      expect(row?.last_used_at).toBeInstanceOf(Date);
    });
    // Nor the security notice the token's creation mailed.
    await outboxDrained(t.app);
    await expectOneStatementPerRequest(path, withToken, 200);
  });
});
