import { createHash } from 'node:crypto';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditWriter } from '../../src/modules/audit/audit-writer.js';
import { logIn, signUp } from '../factories/auth.js';
import { outboxDrained } from '../factories/mail.js';
import { mfaTokenOfLogin, userWithTotp } from '../factories/mfa.js';
import { startSession } from '../factories/session.js';
import { newRegistration } from '../factories/users.js';
import { TestSmtpServer } from '../setup/smtp-server.js';
import { startTestApp, type TestApp } from '../setup/test-app.js';
import { bearer } from '../support/http.js';

/** A secret as the client holds it, and the tag before its random part (none for a session id). */
interface Secret {
  value: string;
  tag: string;
}

/** SHA-256 of the secret's text, as hex: what the code stores (in a bytea) in its place. */
function sha256Hex(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/**
 * The forms in which a secret could sit in a row, as row_to_json writes them: the text, its
 * random part alone, and those bytes or that text in a bytea (hex) or re-encoded in base64.
 */
function storedForms({ value, tag }: Secret): string[] {
  const random = value.slice(tag.length);
  const bytes = Buffer.from(random, 'base64url');
  return [value, random, bytes.toString('hex'), bytes.toString('base64'), Buffer.from(value, 'utf8').toString('hex')];
}

/**
 * The documented claims: refresh tokens, session ids, mfaTokens and mailed account tokens are
 * stored as SHA-256 only (docs/auth-flows.md: JWT pair, Sessions, MFA, Account lifecycle >
 * Tokens). Each secret is made for real, then every row of every table is read as JSON.
 */
describe('Secrets at rest (EMAIL_VERIFICATION=optional, real SMTP)', () => {
  let smtp: TestSmtpServer;
  let t: TestApp;
  beforeAll(async () => {
    smtp = await TestSmtpServer.start();
    t = await startTestApp({ EMAIL_VERIFICATION: 'optional', SMTP_URL: smtp.url });
  });
  afterAll(async () => {
    await t?.close();
    await smtp?.stop();
  });

  const sql = <T>(text: string, params: unknown[] = []) => t.app.get(DataSource).query(text, params) as Promise<T[]>;

  /** Every row of every table of the database, as JSON text, once the audit trail was written. */
  async function everyRow(): Promise<{ table: string; row: string }[]> {
    await t.app.get(AuditWriter).drain();
    const tables = await sql<{ name: string; quoted: string }>(
      `SELECT tablename AS name, format('%I.%I', schemaname, tablename) AS quoted FROM pg_tables
        WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 2`,
    );
    const rows: { table: string; row: string }[] = [];
    for (const { name, quoted } of tables) {
      for (const { row } of await sql<{ row: string }>(`SELECT row_to_json(t)::text AS row FROM ${quoted} t`)) {
        rows.push({ table: name, row });
      }
    }
    return rows;
  }

  /**
   * Fails naming the table of any row that holds one of the secrets in any of its forms.
   * `holders`: the tables that keep the secrets' rows, which the scan must have read.
   */
  async function expectNowhereStored(secrets: Secret[], holders: string[]): Promise<void> {
    const rows = await everyRow();
    const scanned = rows.map(({ table }) => table);
    for (const table of holders) expect(scanned, `rows of ${table} scanned`).toContain(table);
    for (const secret of secrets) {
      const forms = storedForms(secret);
      const found = rows.filter(({ row }) => forms.some((form) => row.includes(form))).map(({ table }) => table);
      expect(found, `tables holding ${secret.tag || 'a session id'}…`).toEqual([]);
    }
  }

  /** The stored digests of a user's rows in `table`, as hex, sorted. */
  async function digests(table: string, column: string, userId: string): Promise<string[]> {
    const rows = await sql<{ digest: string }>(
      `SELECT encode(${column}, 'hex') AS digest FROM ${table} WHERE user_id = $1 ORDER BY 1`,
      [userId],
    );
    return rows.map(({ digest }) => digest);
  }

  // docs/auth-flows.md (JWT pair): "Refresh token: opaque (`nsa_rt_…`, 256 random bits), stored as SHA-256".
  it('should store refresh tokens, the rotated one and its successor, only as their SHA-256', async () => {
    const user = await signUp(t.http);
    const first = await logIn(t.http, user);
    const rotated = await t.http.post('/api/v1/auth/refresh').send({ refresh_token: first.refresh_token }).expect(200);
    const second = rotated.body.refresh_token as string;
    expect(second).toMatch(/^nsa_rt_/);
    expect(await digests('refresh_tokens', 'token_hash', user.id)).toEqual(
      [sha256Hex(first.refresh_token), sha256Hex(second)].sort(),
    );
    await expectNowhereStored(
      [
        { value: first.refresh_token, tag: 'nsa_rt_' },
        { value: second, tag: 'nsa_rt_' },
      ],
      ['refresh_tokens'],
    );
  });

  // docs/auth-flows.md (Sessions): "Server-side rows in Postgres (`sessions`, the cookie value stored as SHA-256)".
  it('should store a session id only as its SHA-256', async () => {
    const user = await signUp(t.http);
    const session = await startSession(t.http, user);
    await t.http.get('/api/v1/auth/me').set('Cookie', session.cookie).expect(200);
    expect(await digests('sessions', 'sid_hash', user.id)).toEqual([sha256Hex(session.sid)]);
    await expectNowhereStored([{ value: session.sid, tag: '' }], ['sessions']);
  });

  // docs/auth-flows.md (MFA): "The `mfaToken` is 256 random bits, stored hashed".
  it('should store an mfaToken only as its SHA-256', async () => {
    const { user } = await userWithTotp(t.http);
    const mfaToken = await mfaTokenOfLogin(t.http, user);
    expect(mfaToken).toMatch(/^nsa_mfa_/);
    expect(await digests('mfa_challenges', 'token_hash', user.id)).toEqual([sha256Hex(mfaToken)]);
    await expectNowhereStored([{ value: mfaToken, tag: 'nsa_mfa_' }], ['mfa_challenges']);
  });

  // docs/auth-flows.md (Account lifecycle): "Tokens: 256 random bits, tagged (`nsa_verify_`, `nsa_email_`,
  // `nsa_reset_`), stored as SHA-256"; the outbox erases a sent mail's values (links).
  it('should store the mailed verification, email-change and reset tokens only as their SHA-256, in the outbox too once sent', async () => {
    const user = await signUp(t.http);
    const verification = (await smtp.next(user.email, /Confirm your email/)).code as string;
    const pair = await logIn(t.http, user);
    const newEmail = newRegistration().email;
    await t.http
      .post('/api/v1/auth/email/change')
      .set(bearer(pair.access_token))
      .send({ newEmail, currentPassword: user.password })
      .expect(202);
    const change = (await smtp.next(newEmail, /Confirm your new email/)).code as string;
    await t.http.post('/api/v1/auth/password/forgot').send({ email: user.email }).expect(202);
    const reset = (await smtp.next(user.email, /Reset your password/)).code as string;
    // A used token stays a row: it must be a digest too.
    await t.http.post('/api/v1/auth/email/verify').send({ token: verification }).expect(204);
    await outboxDrained(t.app);

    expect(verification).toMatch(/^nsa_verify_/);
    expect(change).toMatch(/^nsa_email_/);
    expect(reset).toMatch(/^nsa_reset_/);
    expect(await digests('account_tokens', 'token_hash', user.id)).toEqual(
      [verification, change, reset].map(sha256Hex).sort(),
    );
    const sent = await sql<{ template: string; values: unknown; sent: boolean }>(
      `SELECT template, "values", sent_at IS NOT NULL AS sent FROM mail_outbox
        WHERE recipient = ANY($1) AND template IN ('verify-email', 'change-email', 'password-reset')
        ORDER BY template`,
      [[user.email, newEmail]],
    );
    expect(sent).toEqual([
      { template: 'change-email', values: {}, sent: true },
      { template: 'password-reset', values: {}, sent: true },
      { template: 'verify-email', values: {}, sent: true },
    ]);
    await expectNowhereStored(
      [
        { value: verification, tag: 'nsa_verify_' },
        { value: change, tag: 'nsa_email_' },
        { value: reset, tag: 'nsa_reset_' },
      ],
      ['account_tokens', 'mail_outbox'],
    );
  });
});
