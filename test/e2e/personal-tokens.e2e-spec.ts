import { randomBytes, randomUUID } from 'node:crypto';
import { getRepositoryToken } from '@nestjs/typeorm';
import { DataSource, type Repository } from 'typeorm';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { AuditWriter } from '../../src/modules/audit/audit-writer.js';
import { PersonalToken } from '../../src/modules/auth/tokens/personal-token.entity.js';
import { signedIn, type TokenPair } from '../factories/auth.js';
import { newRegistration, strongPassword } from '../factories/users.js';
import { spyOnSql } from '../setup/sql-spy.js';
import { startTestApp, type TestApp } from '../setup/test-app.js';
import { expectProblem } from '../support/problem-details.js';
import { bearer } from '../support/http.js';

interface CreatedToken {
  id: string;
  name: string;
  token: string;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt?: string | null;
}

describe('Personal tokens: /api/v1/auth/tokens', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());
  afterEach(() => {
    vi.restoreAllMocks();
  });

  const withToken = (token: string) => ({ Authorization: `Token ${token}` });
  const db = () => t.app.get(DataSource);

  async function createToken(tokens: TokenPair, body: Record<string, unknown> = { name: 'ci' }): Promise<CreatedToken> {
    const res = await t.http.post('/api/v1/auth/tokens').set(bearer(tokens)).send(body);
    expect(res.status).toBe(201);
    return res.body as CreatedToken;
  }

  describe('POST /', () => {
    it('should show a tagged secret once, with its expiry, and not let it be cached', async () => {
      const { tokens } = await signedIn(t.http);
      const before = Date.now();
      const res = await t.http
        .post('/api/v1/auth/tokens')
        .set(bearer(tokens))
        .send({ name: 'deploy', expiresInDays: 7 });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        name: 'deploy',
        token: expect.stringMatching(/^nsa_pat_[A-Za-z0-9_-]{40,}$/),
        createdAt: expect.any(String),
      });
      const expiresAt = Date.parse(res.body.expiresAt);
      expect(expiresAt).toBeGreaterThanOrEqual(before + 7 * 86_400_000 - 1000);
      expect(expiresAt).toBeLessThanOrEqual(Date.now() + 7 * 86_400_000 + 1000);
      expect(res.headers['cache-control']).toBe('no-store');
    });

    it('should refuse to create a token for someone else (unknown properties are 400)', async () => {
      const victim = await signedIn(t.http);
      const { tokens } = await signedIn(t.http);
      const res = await t.http
        .post('/api/v1/auth/tokens')
        .set(bearer(tokens))
        .send({ name: 'mine', userId: victim.user.id });
      expectProblem(res, 400);
    });
  });

  describe('Authorization: Token', () => {
    it('should authenticate as its owner', async () => {
      const { user, tokens } = await signedIn(t.http);
      const created = await createToken(tokens);
      const res = await t.http.get('/api/v1/auth/me').set(withToken(created.token)).expect(200);
      expect(res.body).toMatchObject({ id: user.id, authMethod: 'token' });
    });

    it('should refuse an unknown token with 401, on a public route too', async () => {
      const unknown = `nsa_pat_${'A'.repeat(43)}`;
      const res = await t.http.get('/api/v1/auth/me').set(withToken(unknown));
      expectProblem(res, 401);
      expect(res.headers['www-authenticate']).toBe('Token realm="api"');
      expectProblem(await t.http.post('/api/v1/auth/register').set(withToken(unknown)).send(newRegistration()), 401);
    });

    it('should refuse a token that expired before its first use', async () => {
      const { tokens } = await signedIn(t.http);
      const created = await createToken(tokens, { name: 'short', expiresInDays: 1 });
      await db().query('UPDATE personal_tokens SET expires_at = $1 WHERE id = $2', [
        new Date(Date.now() - 1000),
        created.id,
      ]);
      expectProblem(await t.http.get('/api/v1/auth/me').set(withToken(created.token)), 401);
    });

    it('should refuse a cached token once its expiry passes', async () => {
      const { tokens } = await signedIn(t.http);
      const created = await createToken(tokens, { name: 'short', expiresInDays: 1 });
      const expiresAt = Date.now() + 10_000;
      await db().query('UPDATE personal_tokens SET expires_at = $1 WHERE id = $2', [new Date(expiresAt), created.id]);
      await t.http.get('/api/v1/auth/me').set(withToken(created.token)).expect(200);
      // Well within the verification cache's lifetime, past the token's expiry.
      vi.spyOn(Date, 'now').mockReturnValue(expiresAt + 1000);
      expectProblem(await t.http.get('/api/v1/auth/me').set(withToken(created.token)), 401);
    });
  });

  /**
   * A verified token is served from memory (no SQL: see jwt-no-sql.e2e-spec.ts); each of
   * these uses it first, so it is cached, then ends it and expects the very next request
   * to be refused. Across instances: credential-lifecycle and revocation-catch-up.
   */
  describe('the verified-token cache', () => {
    async function cachedToken() {
      const signed = await signedIn(t.http);
      const created = await createToken(signed.tokens);
      for (let i = 0; i < 3; i += 1) await t.http.get('/api/v1/auth/me').set(withToken(created.token)).expect(200);
      return { ...signed, created };
    }

    it('should refuse a cached token at once after DELETE /api/v1/auth/tokens/:id', async () => {
      const { tokens, created } = await cachedToken();
      await t.http.delete(`/api/v1/auth/tokens/${created.id}`).set(bearer(tokens)).expect(204);
      expectProblem(await t.http.get('/api/v1/auth/me').set(withToken(created.token)), 401);
    });

    it('should refuse a cached token at once after DELETE /api/v1/auth/credentials/:id', async () => {
      const { tokens, created } = await cachedToken();
      await t.http.delete(`/api/v1/auth/credentials/${created.id}`).set(bearer(tokens)).expect(204);
      expectProblem(await t.http.get('/api/v1/auth/me').set(withToken(created.token)), 401);
    });

    it('should refuse a cached token at once after a password change', async () => {
      const { user, tokens, created } = await cachedToken();
      await t.http
        .post('/api/v1/auth/password')
        .set(bearer(tokens))
        .send({ currentPassword: user.password, newPassword: strongPassword() })
        .expect(204);
      expectProblem(await t.http.get('/api/v1/auth/me').set(withToken(created.token)), 401);
    });

    it('should refuse a cached token at once after signing out everywhere (no cut-off: the token is named)', async () => {
      const { tokens, created } = await cachedToken();
      await t.http.post('/api/v1/auth/sign-out-everywhere').set(bearer(tokens)).expect(204);
      expectProblem(await t.http.get('/api/v1/auth/me').set(withToken(created.token)), 401);
    });

    it('should refuse another token under the same cache index, and keep serving the cached one', async () => {
      const { created } = await cachedToken();
      // Same tag and first 12 characters (the index), another rest.
      const rest = created.token.slice(-31);
      const forged = `${created.token.slice(0, -31)}${rest.startsWith('A') ? 'B' : 'A'}${rest.slice(1)}`;
      expectProblem(await t.http.get('/api/v1/auth/me').set(withToken(forged)), 401);
      await t.http.get('/api/v1/auth/me').set(withToken(created.token)).expect(200);
    });

    /** What the credential check asked the database (a refusal's audit event is written too, and left out). */
    const credentialReads = (statements: string[]) =>
      statements.filter((sql) => /\b(personal_tokens|users)\b/.test(sql));

    it('should cost an unknown token one indexed read and nothing more', async () => {
      // Distinct tokens: the guard remembers a refused one for a while (refused-credentials.ts).
      const unknown = Array.from({ length: 3 }, () => `nsa_pat_${randomBytes(32).toString('base64url')}`);
      const sql = spyOnSql();
      for (const token of unknown) expectProblem(await t.http.get('/api/v1/auth/me').set(withToken(token)), 401);
      const reads = credentialReads(sql.statements());
      // One read of the token's hash each; no owner read, and nothing written for it.
      expect(reads, sql.statements().join('\n')).toHaveLength(3);
      expect(reads.every((statement) => /^SELECT\b[\s\S]*\bFROM "personal_tokens"/.test(statement))).toBe(true);
    });

    it('should refuse a token that is not of this server’s shape without reading the database', async () => {
      const sql = spyOnSql();
      for (const malformed of [
        'nsa_pat_short',
        `nsa_pat_${'A'.repeat(44)}`,
        `nsak_${'A'.repeat(43)}`,
        'x'.repeat(500),
      ]) {
        expectProblem(await t.http.get('/api/v1/auth/me').set(withToken(malformed)), 401);
      }
      // The spy sees this app's statements: the refusals' audit events.
      await t.app.get(AuditWriter).drain();
      expect(sql.statements().length).toBeGreaterThan(0);
      expect(credentialReads(sql.statements())).toEqual([]);
    });
  });

  describe('GET /', () => {
    it('should list the caller’s tokens without any secret', async () => {
      const { tokens } = await signedIn(t.http);
      const created = await createToken(tokens, { name: 'laptop' });
      const res = await t.http.get('/api/v1/auth/tokens').set(bearer(tokens)).expect(200);
      expect(res.body).toEqual({
        data: [{ id: created.id, name: 'laptop', createdAt: created.createdAt, expiresAt: null, lastUsedAt: null }],
        nextCursor: null,
      });
      expect(res.text).not.toContain(created.token);
      expect(res.text).not.toContain(created.token.slice('nsa_pat_'.length));
    });

    it('should not list other users’ tokens', async () => {
      const other = await signedIn(t.http);
      await createToken(other.tokens);
      const { tokens } = await signedIn(t.http);
      await t.http.get('/api/v1/auth/tokens').set(bearer(tokens)).expect(200, { data: [], nextCursor: null });
    });

    // docs/contract.md, "Everywhere": lists are paginated, newest first, `limit` 1 to 100.
    it('should page the caller’s tokens newest first, and refuse a limit outside 1 to 100', async () => {
      const { tokens } = await signedIn(t.http);
      const created: CreatedToken[] = [];
      for (const name of ['one', 'two', 'three']) created.push(await createToken(tokens, { name }));
      const first = await t.http.get('/api/v1/auth/tokens?limit=2').set(bearer(tokens)).expect(200);
      expect(first.body.data.map((token: CreatedToken) => token.name)).toEqual(['three', 'two']);
      expect(first.body.nextCursor).toEqual(expect.any(String));
      const second = await t.http
        .get(`/api/v1/auth/tokens?limit=2&cursor=${encodeURIComponent(first.body.nextCursor as string)}`)
        .set(bearer(tokens))
        .expect(200);
      expect(second.body).toEqual({ data: [expect.objectContaining({ id: created[0]!.id })], nextCursor: null });
      for (const limit of ['0', '101', 'x']) {
        expectProblem(await t.http.get(`/api/v1/auth/tokens?limit=${limit}`).set(bearer(tokens)), 400);
      }
    });
  });

  describe('DELETE /:id', () => {
    it('should revoke the token at once', async () => {
      const { tokens } = await signedIn(t.http);
      const created = await createToken(tokens);
      await t.http.get('/api/v1/auth/me').set(withToken(created.token)).expect(200);
      await t.http.delete(`/api/v1/auth/tokens/${created.id}`).set(bearer(tokens)).expect(204);
      expectProblem(await t.http.get('/api/v1/auth/me').set(withToken(created.token)), 401);
    });

    it('should answer 404 for another user’s token and leave it working', async () => {
      const victim = await signedIn(t.http);
      const created = await createToken(victim.tokens);
      const { tokens } = await signedIn(t.http);
      expectProblem(await t.http.delete(`/api/v1/auth/tokens/${created.id}`).set(bearer(tokens)), 404);
      await t.http.get('/api/v1/auth/me').set(withToken(created.token)).expect(200);
    });

    it('should answer 404 for a token that does not exist, and 400 for a malformed id', async () => {
      const { tokens } = await signedIn(t.http);
      expectProblem(await t.http.delete(`/api/v1/auth/tokens/${randomUUID()}`).set(bearer(tokens)), 404);
      expectProblem(await t.http.delete('/api/v1/auth/tokens/not-a-uuid').set(bearer(tokens)), 400);
      expectProblem(await t.http.delete("/api/v1/auth/tokens/1'%20OR%20'1'='1").set(bearer(tokens)), 400);
    });
  });

  describe('storage', () => {
    it('should never store or log the token itself', async () => {
      const { user, tokens } = await signedIn(t.http);
      const created = await createToken(tokens);
      await t.http.get('/api/v1/auth/me').set(withToken(created.token)).expect(200);
      const secret = created.token.slice('nsa_pat_'.length);
      const rows = (await db().query('SELECT * FROM personal_tokens WHERE user_id = $1', [user.id])) as Record<
        string,
        unknown
      >[];
      expect(rows).toHaveLength(1);
      for (const value of Object.values(rows[0] ?? {})) {
        const text = Buffer.isBuffer(value)
          ? [value.toString('utf8'), value.toString('hex'), value.toString('base64url')].join()
          : String(value);
        expect(text).not.toContain(secret);
        expect(text).not.toContain(created.token);
      }
      expect(t.logs.text()).not.toContain(secret);
    });

    it('should record use at most once a minute, not on every request', async () => {
      const { tokens } = await signedIn(t.http);
      const created = await createToken(tokens);
      const repository = t.app.get<Repository<PersonalToken>>(getRepositoryToken(PersonalToken));
      const update = vi.spyOn(repository, 'update');
      const lastUsedAt = async () =>
        (
          (await db().query('SELECT last_used_at FROM personal_tokens WHERE id = $1', [created.id])) as {
            last_used_at: Date | null;
          }[]
        )[0]?.last_used_at;

      await t.http.get('/api/v1/auth/me').set(withToken(created.token)).expect(200);
      // The write is off the request path, so wait for it rather than for a fixed time.
      await vi.waitFor(async () => expect(await lastUsedAt()).toBeInstanceOf(Date));
      const first = (await lastUsedAt())?.getTime();
      for (let i = 0; i < 5; i += 1) await t.http.get('/api/v1/auth/me').set(withToken(created.token)).expect(200);
      expect(update).toHaveBeenCalledTimes(1);
      expect((await lastUsedAt())?.getTime()).toBe(first);
      const listed = await t.http.get('/api/v1/auth/tokens').set(bearer(tokens)).expect(200);
      expect(Date.parse(listed.body.data[0].lastUsedAt)).toBe(first);
    });
  });
});
