import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ApiKeysRepository } from '../../src/modules/api-keys/api-keys.repository.js';
import { logIn, signedIn, signedInAdmin, signUp, type TokenPair } from '../factories/auth.js';
import { startTestApp, type TestApp } from '../setup/test-app.js';
import { expectProblem } from '../support/problem-details.js';
import { bearer, countRows, listAll } from '../support/http.js';

interface CreatedKey {
  id: string;
  prefix: string;
  key: string;
  name: string;
  scopes: string[];
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  ownerId: string;
}

const KEY_SHAPE = /^nsak_([A-Za-z0-9_-]{12})\.([A-Za-z0-9_-]{43})$/;
const secretOf = (key: string) => key.split('.')[1] as string;
const randomPrefix = () => randomBytes(9).toString('base64url');
const randomSecret = () => randomBytes(32).toString('base64url');

describe('API keys: /api/v1/api-keys', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());
  afterEach(() => {
    vi.restoreAllMocks();
  });

  const withKey = (key: string) => ({ 'X-API-Key': key });
  const db = () => t.app.get(DataSource);
  const me = (key: string) => t.http.get('/api/v1/auth/me').set(withKey(key));

  async function createKey(tokens: TokenPair, body: Record<string, unknown> = {}): Promise<CreatedKey> {
    const res = await t.http
      .post('/api/v1/api-keys')
      .set(bearer(tokens))
      .send({ name: 'ci', scopes: ['resources:read'], ...body });
    expect(res.status).toBe(201);
    return res.body as CreatedKey;
  }

  describe('POST /', () => {
    it('should show the key this once, in the documented shape, and not let it be cached', async () => {
      const { user, tokens } = await signedIn(t.http);
      const expiresAt = new Date(Date.now() + 86_400_000).toISOString();
      const before = Date.now();
      const res = await t.http
        .post('/api/v1/api-keys')
        .set(bearer(tokens))
        .send({ name: 'deploy', scopes: ['resources:read', 'resources:write'], expiresAt });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        prefix: expect.stringMatching(/^nsak_[A-Za-z0-9_-]{12}$/),
        key: expect.stringMatching(KEY_SHAPE),
        name: 'deploy',
        scopes: ['resources:read', 'resources:write'],
        createdAt: expect.any(String),
        expiresAt,
        lastUsedAt: null,
        ownerId: user.id,
      });
      // The prefix is exactly the text before the '.' of the key.
      expect(res.body.key.split('.')[0]).toBe(res.body.prefix);
      expect(Date.parse(res.body.createdAt)).toBeGreaterThanOrEqual(before - 1000);
      expect(Date.parse(res.body.createdAt)).toBeLessThanOrEqual(Date.now() + 1000);
      expect(res.headers['cache-control']).toBe('no-store');
    });

    it('should refuse scopes beyond the creator’s permissions with 403, and store no key', async () => {
      const { tokens } = await signedIn(t.http);
      const before = await countRows(t, 'api_keys');
      for (const scopes of [['users:manage'], ['resources:read', 'api-keys:manage'], ['audit:read']]) {
        const res = await t.http.post('/api/v1/api-keys').set(bearer(tokens)).send({ name: 'escalate', scopes });
        expectProblem(res, 403);
        expect(res.text).not.toMatch(/nsak_/);
      }
      expect(await countRows(t, 'api_keys')).toBe(before);
    });

    it('should refuse an expiry in the past and unknown scopes with 400', async () => {
      const { tokens } = await signedIn(t.http);
      const past = new Date(Date.now() - 1000).toISOString();
      const send = (body: object) => t.http.post('/api/v1/api-keys').set(bearer(tokens)).send(body);
      expectProblem(await send({ name: 'old', scopes: ['resources:read'], expiresAt: past }), 400);
      expectProblem(await send({ name: 'odd', scopes: ['resources:*'] }), 400);
      expectProblem(await send({ name: 'mine', scopes: ['resources:read'], userId: randomUUID() }), 400);
    });
  });

  describe('GET / and GET /:id', () => {
    it('should never show the key again', async () => {
      const { tokens } = await signedIn(t.http);
      const created = await createKey(tokens);
      const one = await t.http.get(`/api/v1/api-keys/${created.id}`).set(bearer(tokens)).expect(200);
      const { key: _shownOnce, ...rest } = created;
      expect(one.body).toEqual(rest);
      const list = await t.http.get('/api/v1/api-keys').set(bearer(tokens)).expect(200);
      expect(list.body).toEqual({ data: [rest], nextCursor: null });
      for (const res of [one, list]) {
        expect(res.text).not.toContain(secretOf(created.key));
        expect(res.text).not.toContain('"key"');
      }
    });

    it('should list only the caller’s own keys, and every user’s to an admin', async () => {
      const alice = await signedIn(t.http);
      const bob = await signedIn(t.http);
      const first = await createKey(alice.tokens, { name: 'a1' });
      const second = await createKey(alice.tokens, { name: 'a2' });
      const bobs = await createKey(bob.tokens, { name: 'b1' });
      expect(
        (
          await listAll<CreatedKey>(t.http, '/api/v1/api-keys', {
            query: { limit: 100 },
            headers: bearer(alice.tokens),
          })
        ).items.map((k) => k.id),
      ).toEqual([second.id, first.id]);
      expect(
        (
          await listAll<CreatedKey>(t.http, '/api/v1/api-keys', { query: { limit: 100 }, headers: bearer(bob.tokens) })
        ).items.map((k) => k.id),
      ).toEqual([bobs.id]);
      const admin = await signedInAdmin(t);
      const everyone = (
        await listAll<CreatedKey>(t.http, '/api/v1/api-keys', { query: { limit: 100 }, headers: bearer(admin.tokens) })
      ).items.map((k) => k.id);
      expect(everyone).toEqual(expect.arrayContaining([first.id, second.id, bobs.id]));
    });

    it('should answer 404 for another user’s key, and 200 to an admin', async () => {
      const victim = await signedIn(t.http);
      const created = await createKey(victim.tokens);
      const { tokens } = await signedIn(t.http);
      expectProblem(await t.http.get(`/api/v1/api-keys/${created.id}`).set(bearer(tokens)), 404);
      expectProblem(await t.http.get(`/api/v1/api-keys/${randomUUID()}`).set(bearer(tokens)), 404);
      expectProblem(await t.http.get('/api/v1/api-keys/not-a-uuid').set(bearer(tokens)), 400);
      const admin = await signedInAdmin(t);
      const seen = await t.http.get(`/api/v1/api-keys/${created.id}`).set(bearer(admin.tokens)).expect(200);
      expect(seen.body).toMatchObject({ id: created.id, ownerId: victim.user.id });
    });

    it('should not let a user revoke or rotate another user’s key (404), and leave it working', async () => {
      const victim = await signedIn(t.http);
      const created = await createKey(victim.tokens);
      const { tokens } = await signedIn(t.http);
      expectProblem(await t.http.delete(`/api/v1/api-keys/${created.id}`).set(bearer(tokens)), 404);
      const rotated = await t.http.post(`/api/v1/api-keys/${created.id}/rotate`).set(bearer(tokens));
      expectProblem(rotated, 404);
      expect(rotated.text).not.toMatch(/nsak_/);
      await me(created.key).expect(200);
    });
  });

  describe('DELETE /:id', () => {
    it('should revoke the key at once, even while it is cached (204, then 401)', async () => {
      const { tokens } = await signedIn(t.http);
      const created = await createKey(tokens);
      await me(created.key).expect(200);
      await t.http.delete(`/api/v1/api-keys/${created.id}`).set(bearer(tokens)).expect(204);
      expectProblem(await me(created.key), 401);
      expectProblem(await t.http.get(`/api/v1/api-keys/${created.id}`).set(bearer(tokens)), 404);
      expectProblem(await t.http.delete(`/api/v1/api-keys/${created.id}`).set(bearer(tokens)), 404);
    });

    it('should let an admin revoke another user’s key', async () => {
      const victim = await signedIn(t.http);
      const created = await createKey(victim.tokens);
      await me(created.key).expect(200);
      const admin = await signedInAdmin(t);
      await t.http.delete(`/api/v1/api-keys/${created.id}`).set(bearer(admin.tokens)).expect(204);
      expectProblem(await me(created.key), 401);
    });
  });

  describe('POST /:id/rotate', () => {
    it('should give a new secret under the same id and prefix, and kill the old one at once', async () => {
      const { tokens } = await signedIn(t.http);
      const created = await createKey(tokens, { scopes: ['resources:read', 'resources:write'] });
      await me(created.key).expect(200);
      const res = await t.http.post(`/api/v1/api-keys/${created.id}/rotate`).set(bearer(tokens));
      expect(res.status).toBe(201);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.body).toMatchObject({
        id: created.id,
        prefix: created.prefix,
        name: created.name,
        scopes: created.scopes,
        key: expect.stringMatching(KEY_SHAPE),
      });
      expect(res.body.key).not.toBe(created.key);
      expect(res.body.key.startsWith(`${created.prefix}.`)).toBe(true);
      expectProblem(await me(created.key), 401);
      const now = await me(res.body.key as string).expect(200);
      expect(now.body).toMatchObject({ authMethod: 'api-key', permissions: ['resources:read', 'resources:write'] });
      await t.http.delete(`/api/v1/api-keys/${created.id}`).set(bearer(tokens)).expect(204);
      expectProblem(await me(res.body.key as string), 401);
    });

    it('should refuse to rotate or revoke a key with a scope its demoted owner no longer holds (403), and leave it working', async () => {
      // docs/auth-flows.md (API keys): only a caller holding all of a key's scopes may rotate or revoke it.
      const admin = await signedInAdmin(t);
      const b = await signUp(t.http);
      const setRoles = (roles: string[]) =>
        t.http.patch(`/api/v1/users/${b.id}`).set(bearer(admin.tokens)).send({ roles }).expect(200);
      await setRoles(['admin']);
      const created = await createKey(await logIn(t.http, b), { scopes: ['users:read', 'resources:read'] });
      await setRoles(['user']);
      // A fresh sign-in: first-party and recent, so only the scope rule can refuse it.
      const fresh = await logIn(t.http, b);
      const rotated = await t.http.post(`/api/v1/api-keys/${created.id}/rotate`).set(bearer(fresh));
      expectProblem(rotated, 403);
      expect(rotated.body.detail).toContain('users:read');
      expect(rotated.text).not.toMatch(/nsak_/);
      const revoked = await t.http.delete(`/api/v1/api-keys/${created.id}`).set(bearer(fresh));
      expectProblem(revoked, 403);
      expect(revoked.body.detail).toContain('users:read');
      // Neither rotated (the old secret still works) nor revoked; the demotion narrowed it.
      expect((await me(created.key).expect(200)).body).toMatchObject({ permissions: ['resources:read'] });
      await t.http.get('/api/v1/resources').set(withKey(created.key)).expect(200);
    });
  });

  describe('authenticating with a key', () => {
    it('should accept X-API-Key and Authorization: Api-Key, acting as the owner within its scopes', async () => {
      const { user, tokens } = await signedIn(t.http);
      const { key } = await createKey(tokens);
      for (const headers of [withKey(key), { Authorization: `Api-Key ${key}` }]) {
        const res = await t.http.get('/api/v1/auth/me').set(headers).expect(200);
        expect(res.body).toMatchObject({ id: user.id, authMethod: 'api-key', permissions: ['resources:read'] });
      }
    });

    it('should answer 403 to a key whose scopes lack the permission', async () => {
      const { tokens } = await signedIn(t.http);
      const { key } = await createKey(tokens, { scopes: ['resources:read'] });
      await t.http.get('/api/v1/resources').set(withKey(key)).expect(200);
      const res = await t.http.post('/api/v1/resources').set(withKey(key)).send({ name: 'x', visibility: 'public' });
      expectProblem(res, 403);
      const writer = await createKey(tokens, { scopes: ['resources:write'] });
      expectProblem(await t.http.get('/api/v1/resources').set(withKey(writer.key)), 403);
    });

    it('should refuse a well-formed key with an unknown prefix (401), on a public route too', async () => {
      const forged = `nsak_${randomPrefix()}.${randomSecret()}`;
      const res = await me(forged);
      expectProblem(res, 401);
      expect(res.headers['www-authenticate']).toBe('Api-Key realm="api"');
      expectProblem(await t.http.get('/api/v1/resources').set(withKey(forged)), 401);
      expectProblem(await t.http.get('/api/v1/resources').set({ Authorization: `Api-Key ${forged}` }), 401);
    });

    it('should refuse the right prefix with a wrong secret (401), also while the key is cached', async () => {
      const { tokens } = await signedIn(t.http);
      const created = await createKey(tokens);
      const other = await createKey(tokens);
      expectProblem(await me(`${created.prefix}.${randomSecret()}`), 401);
      await me(created.key).expect(200);
      expectProblem(await me(`${created.prefix}.${randomSecret()}`), 401);
      expectProblem(await me(`${created.prefix}.${secretOf(other.key)}`), 401);
      // The last character changed (to one it is not: 'A', or 'B' where it was 'A').
      const secret = secretOf(created.key);
      const lastChanged = `${secret.slice(0, 42)}${secret.endsWith('A') ? 'B' : 'A'}`;
      expectProblem(await me(`${created.prefix}.${lastChanged}`), 401);
    });

    it('should refuse a key that expired before its first use (401)', async () => {
      const { tokens } = await signedIn(t.http);
      const created = await createKey(tokens, { expiresAt: new Date(Date.now() + 86_400_000).toISOString() });
      await db().query('UPDATE api_keys SET expires_at = $1 WHERE id = $2', [new Date(Date.now() - 1000), created.id]);
      expectProblem(await me(created.key), 401);
    });

    it('should refuse a cached key once its expiry passes (401)', async () => {
      const { tokens } = await signedIn(t.http);
      const expiresAt = Date.now() + 10_000;
      const created = await createKey(tokens, { expiresAt: new Date(expiresAt).toISOString() });
      await me(created.key).expect(200);
      // Well within the verification cache's lifetime, past the key's expiry.
      vi.spyOn(Date, 'now').mockReturnValue(expiresAt + 1000);
      expectProblem(await me(created.key), 401);
    });

    it('should refuse the key of a deactivated owner at once (401)', async () => {
      const owner = await signedIn(t.http);
      const created = await createKey(owner.tokens);
      await me(created.key).expect(200);
      const admin = await signedInAdmin(t);
      await t.http
        .patch(`/api/v1/users/${owner.user.id}`)
        .set(bearer(admin.tokens))
        .send({ isActive: false })
        .expect(200);
      expectProblem(await me(created.key), 401);
      expectProblem(await t.http.get('/api/v1/resources').set(withKey(created.key)), 401);
    });

    it('should shrink the key of a demoted owner at once', async () => {
      const admin = await signedInAdmin(t);
      const b = await signUp(t.http);
      const patch = (roles: string[]) =>
        t.http.patch(`/api/v1/users/${b.id}`).set(bearer(admin.tokens)).send({ roles }).expect(200);
      await patch(['admin']);
      const created = await createKey(await logIn(t.http, b), { scopes: ['users:read', 'resources:read'] });
      await t.http.get('/api/v1/users').set(withKey(created.key)).expect(200);
      await t.http.get('/api/v1/resources').set(withKey(created.key)).expect(200);
      await patch(['user']);
      expectProblem(await t.http.get('/api/v1/users').set(withKey(created.key)), 403);
      await t.http.get('/api/v1/resources').set(withKey(created.key)).expect(200);
      expect((await me(created.key).expect(200)).body).toMatchObject({
        roles: ['user'],
        permissions: ['resources:read'],
      });
    });

    it('should refuse malformed keys with 401, never 500 and never as anonymous', async () => {
      const { tokens } = await signedIn(t.http);
      const { key } = await createKey(tokens);
      const utf8AsHeader = (text: string) => Buffer.from(text, 'utf8').toString('latin1');
      const malformed = [
        'nsak_short.x',
        `nsak_${'A'.repeat(495)}`,
        `${key}${'A'.repeat(500 - key.length)}`,
        utf8AsHeader(`nsak_ключключключ.${'é'.repeat(43)}`),
        utf8AsHeader(`${key}✓`),
        `${key}é`,
        '',
        '   ',
        key.slice('nsak_'.length),
        `${key}.extra`,
        key.replace('.', '..'),
      ];
      for (const value of malformed) {
        expectProblem(await t.http.get('/api/v1/resources').set(withKey(value)), 401);
        expectProblem(await t.http.get('/api/v1/resources').set({ Authorization: `Api-Key ${value}` }), 401);
      }
      await me(key).expect(200);
    });

    it('should refuse a key together with a bearer token (400)', async () => {
      const { tokens } = await signedIn(t.http);
      const { key } = await createKey(tokens);
      expectProblem(await t.http.get('/api/v1/auth/me').set(withKey(key)).set(bearer(tokens)), 400);
    });

    it('should not let a narrow key obtain a wider sibling’s secret', async () => {
      const { tokens } = await signedIn(t.http);
      const narrow = await createKey(tokens, { scopes: ['resources:read'] });
      const wide = await createKey(tokens, { scopes: ['resources:read', 'resources:write'] });
      const send = (body: object) => t.http.post('/api/v1/api-keys').set(withKey(narrow.key)).send(body);
      expectProblem(await send({ name: 'wider', scopes: ['resources:write'] }), 403);
      const res = await t.http.post(`/api/v1/api-keys/${wide.id}/rotate`).set(withKey(narrow.key));
      expectProblem(res, 403);
      expect(res.text).not.toMatch(/nsak_/);
      await me(wide.key).expect(200);
    });
  });

  describe('storage', () => {
    it('should never store or log the secret, only its 32-byte keyed hash', async () => {
      const { tokens } = await signedIn(t.http);
      const created = await createKey(tokens);
      await me(created.key).expect(200);
      const secret = secretOf(created.key);
      const secretBytesHex = Buffer.from(secret, 'base64url').toString('hex');
      const forbidden = [secret, created.key, secretBytesHex];
      const rows = (await db().query(
        `SELECT k::text AS row_text, encode(secret_hash, 'hex') AS hash_hex, encode(secret_hash, 'escape') AS hash_escape,
                octet_length(secret_hash) AS hash_length, *
           FROM api_keys k WHERE id = $1`,
        [created.id],
      )) as Record<string, unknown>[];
      expect(rows).toHaveLength(1);
      const row = rows[0] as Record<string, unknown>;
      expect(Number(row.hash_length)).toBe(32);
      expect(row.hash_hex).not.toBe(createHash('sha256').update(secret).digest('hex'));
      // The row as Postgres prints it does hold the public prefix: the scan reads what it should.
      expect(row.row_text).toContain(created.prefix.replace(/^nsak_/, ''));
      for (const value of Object.values(row)) {
        const bytes = value instanceof Uint8Array ? Buffer.from(value) : undefined;
        const text = bytes
          ? ['utf8', 'latin1', 'hex', 'base64url'].map((encoding) => bytes.toString(encoding as BufferEncoding)).join()
          : String(value);
        for (const needle of forbidden) expect(text).not.toContain(needle);
      }
      const tables = (await db().query(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`,
      )) as { table_name: string }[];
      expect(tables.map(({ table_name }) => table_name)).toContain('api_keys');
      for (const { table_name: table } of tables) {
        const dump = (await db().query(`SELECT t::text AS text FROM "${table}" t`)) as { text: string }[];
        for (const { text } of dump) for (const needle of forbidden) expect(text, table).not.toContain(needle);
      }
      expect(t.logs.text()).not.toContain(secret);
    });

    it('should record the last use at most once a minute', async () => {
      const { tokens } = await signedIn(t.http);
      const created = await createKey(tokens);
      // Every instance's: the retention module has a repository of its own.
      const recordUse = vi.spyOn(ApiKeysRepository.prototype, 'recordUse');
      const lastUsed = async () =>
        (
          (await db().query('SELECT last_used_at, last_used_ip FROM api_keys WHERE id = $1', [created.id])) as {
            last_used_at: Date | null;
            last_used_ip: string | null;
          }[]
        )[0];
      expect((await lastUsed())?.last_used_at).toBeNull();
      const before = Date.now();
      await me(created.key).expect(200);
      // The write is off the request path: wait for it rather than for a fixed time.
      await vi.waitFor(async () => expect((await lastUsed())?.last_used_at).toBeInstanceOf(Date), { timeout: 1000 });
      const first = await lastUsed();
      expect(first?.last_used_at?.getTime()).toBeGreaterThanOrEqual(before - 1000);
      expect(first?.last_used_ip).toBeTruthy();
      for (let i = 0; i < 5; i += 1) await me(created.key).expect(200);
      expect(recordUse).toHaveBeenCalledTimes(1);
      expect((await lastUsed())?.last_used_at?.getTime()).toBe(first?.last_used_at?.getTime());
      const shown = await t.http.get(`/api/v1/api-keys/${created.id}`).set(bearer(tokens)).expect(200);
      expect(Date.parse(shown.body.lastUsedAt as string)).toBe(first?.last_used_at?.getTime());
    });
  });
});
