import { randomUUID } from 'node:crypto';
import { getRepositoryToken } from '@nestjs/typeorm';
import { DataSource, type Repository } from 'typeorm';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { PersonalToken } from '../../src/modules/auth/tokens/personal-token.entity.js';
import { signedIn, type TokenPair } from '../factories/auth.js';
import { newRegistration } from '../factories/users.js';
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

    it('should refuse an expired token', async () => {
      const { tokens } = await signedIn(t.http);
      const created = await createToken(tokens, { name: 'short', expiresInDays: 1 });
      await t.http.get('/api/v1/auth/me').set(withToken(created.token)).expect(200);
      await db().query('UPDATE personal_tokens SET expires_at = $1 WHERE id = $2', [
        new Date(Date.now() - 1000),
        created.id,
      ]);
      expectProblem(await t.http.get('/api/v1/auth/me').set(withToken(created.token)), 401);
    });
  });

  describe('GET /', () => {
    it('should list the caller’s tokens without any secret', async () => {
      const { tokens } = await signedIn(t.http);
      const created = await createToken(tokens, { name: 'laptop' });
      const res = await t.http.get('/api/v1/auth/tokens').set(bearer(tokens)).expect(200);
      expect(res.body).toEqual([
        { id: created.id, name: 'laptop', createdAt: created.createdAt, expiresAt: null, lastUsedAt: null },
      ]);
      expect(res.text).not.toContain(created.token);
      expect(res.text).not.toContain(created.token.slice('nsa_pat_'.length));
    });

    it('should not list other users’ tokens', async () => {
      const other = await signedIn(t.http);
      await createToken(other.tokens);
      const { tokens } = await signedIn(t.http);
      await t.http.get('/api/v1/auth/tokens').set(bearer(tokens)).expect(200, []);
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
      expect(Date.parse(listed.body[0].lastUsedAt)).toBe(first);
    });
  });
});
