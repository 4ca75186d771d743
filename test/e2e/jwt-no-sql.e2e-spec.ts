import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { AuditWriter } from '../../src/modules/audit/audit-writer.js';
import { signedIn } from '../factories/auth.js';
import { startTestApp, type TestApp } from '../setup/test-app.js';
import { spyOnSql } from '../setup/sql-spy.js';

const REQUESTS = 20;

/**
 * The JWT hot path is in memory (signature, claims, revocation tables): a request that
 * carries one must cost no database round trip. GET /bench/protected does nothing else,
 * so any SQL it causes is the credential check's.
 */
describe('a JWT-authenticated request', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ ENABLE_BENCH_ROUTES: 'true' });
  });
  afterAll(() => t.close());
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it(`should issue no SQL over ${REQUESTS} requests once warm`, async () => {
    const sql = spyOnSql();
    const { tokens } = await signedIn(t.http);
    // Signing in reads and writes the database: the spy sees this database's statements.
    expect(sql.statements().length).toBeGreaterThan(0);
    const auth = `Bearer ${tokens.access_token}`;
    await t.http.get('/bench/protected').set('Authorization', auth).expect(200);
    // Signing up and in are audited; their buffered events must not land mid-count.
    await t.app.get(AuditWriter).drain();
    sql.reset();
    for (let i = 0; i < REQUESTS; i++) {
      await t.http.get('/bench/protected').set('Authorization', auth).expect(200, { ok: true });
    }
    // Whatever the requests left to write later is theirs too.
    await t.app.get(AuditWriter).drain();
    expect(sql.statements()).toEqual([]);
  });

  it('should, by contrast, look a personal token up in the database on every request', async ({ annotate }) => {
    const sql = spyOnSql();
    const { tokens } = await signedIn(t.http);
    const pat = await t.http
      .post('/api/v1/auth/tokens')
      .set('Authorization', `Bearer ${tokens.access_token}`)
      .send({ name: 'no-sql control' })
      .expect(201);
    const auth = `Token ${pat.body.token}`;
    await t.http.get('/bench/protected').set('Authorization', auth).expect(200);
    await t.app.get(AuditWriter).drain();
    sql.reset();
    for (let i = 0; i < REQUESTS; i++) {
      await t.http.get('/bench/protected').set('Authorization', auth).expect(200, { ok: true });
    }
    await annotate(`${sql.statements().length} statements for ${REQUESTS} personal-token requests`);
    expect(sql.statements().length).toBeGreaterThanOrEqual(REQUESTS);
  });
});
