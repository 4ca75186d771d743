import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { AuditWriter } from '../../src/modules/audit/audit-writer.js';
import { signedIn } from '../factories/auth.js';
import { outboxDrained } from '../factories/mail.js';
import { startTestApp, type TestApp } from '../setup/test-app.js';
import { spyOnSql } from '../setup/sql-spy.js';

const REQUESTS = 20;

/**
 * The JWT hot path is in memory (signature, claims, revocation tables): a request that
 * carries one must cost no database round trip; nor, once verified, a personal token. GET /bench/protected does nothing else,
 * so any SQL it causes is the credential check's.
 */
describe('a request with a JWT or a personal token', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ ENABLE_BENCH_ROUTES: 'true' });
  });
  afterAll(() => t.close());
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it(`should issue no SQL over ${REQUESTS} requests with a JWT once warm`, async () => {
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

  /**
   * A personal token is verified once (its hash looked up, its owner read) and then served
   * from memory like a verified JWT, until it is revoked (personal-tokens.e2e-spec.ts).
   */
  it(`should issue no SQL over ${REQUESTS} requests with a personal token once warm`, async () => {
    const sql = spyOnSql();
    const { tokens } = await signedIn(t.http);
    const pat = await t.http
      .post('/api/v1/auth/tokens')
      .set('Authorization', `Bearer ${tokens.access_token}`)
      .send({ name: 'no-sql' })
      .expect(201);
    const auth = `Token ${pat.body.token}`;
    sql.reset();
    await t.http.get('/bench/protected').set('Authorization', auth).expect(200);
    // The first use reads the token (and records its use): the spy sees it.
    expect(sql.statements().some((statement) => /\bFROM "personal_tokens"/.test(statement))).toBe(true);
    await t.app.get(AuditWriter).drain();
    // The first use's "last used" write is off the request path: let it land before counting.
    await vi.waitFor(() =>
      expect(sql.statements().some((statement) => statement.startsWith('UPDATE "personal_tokens"'))).toBe(true),
    );
    // Creating the token mailed its owner a security notice: the outbox worker's statements
    // (its delivery, its polls every few seconds) are not the requests'.
    await outboxDrained(t.app);
    sql.reset();
    for (let i = 0; i < REQUESTS; i++) {
      await t.http.get('/bench/protected').set('Authorization', auth).expect(200, { ok: true });
    }
    await t.app.get(AuditWriter).drain();
    const outboxWork = /\bmail_outbox\b|^(START TRANSACTION|COMMIT)$/;
    expect(sql.statements().filter((statement) => !outboxWork.test(statement))).toEqual([]);
  });
});
