import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLE_PERMISSIONS } from '../../src/common/auth/roles.js';
import { logIn, signedIn, signedInAdmin, signUp, type SignedUpUser, type TokenPair } from '../factories/auth.js';
import { startSession } from '../factories/session.js';
import { newRegistration } from '../factories/users.js';
import { startTestApp, type TestApp } from '../setup/test-app.js';
import { expectProblem } from '../support/problem-details.js';
import { bearer } from '../support/http.js';

interface User {
  id: string;
  email: string;
  displayName: string;
  roles: string[];
  isActive: boolean;
  createdAt: string;
  updatedAt: string;
  lastLoginAt: string | null;
}

type Caller = { user: SignedUpUser; tokens: TokenPair };

const BASE = '/api/v1/users';
const USER_FIELDS = ['createdAt', 'displayName', 'email', 'id', 'isActive', 'lastLoginAt', 'roles', 'updatedAt'];
const url = (id: string) => `${BASE}/${id}`;

/** Helpers bound to one app. */
function usersApi(app: () => TestApp) {
  const http = () => app().http;
  return {
    /** The user as stored, read past the API so no credential is needed. */
    async stored(id: string): Promise<{ roles: string[]; is_active: boolean; display_name: string } | undefined> {
      const rows = (await app()
        .app.get(DataSource)
        .query('SELECT roles, is_active, display_name FROM users WHERE id = $1', [id])) as {
        roles: string[];
        is_active: boolean;
        display_name: string;
      }[];
      return rows[0];
    },
    async countUsers(): Promise<number> {
      const [row] = (await app().app.get(DataSource).query('SELECT count(*)::int AS n FROM users')) as { n: number }[];
      return Number(row?.n);
    },
    /** A signed-in user who holds `roles`, given by `admin`, with a token issued after the change. */
    async signedInAs(admin: Caller, roles: string[]): Promise<Caller> {
      const { user } = await signedIn(http());
      await http().patch(url(user.id)).set(bearer(admin)).send({ roles }).expect(200);
      return { user, tokens: await logIn(http(), user) };
    },
    me: (headers: Record<string, string>) => http().get('/api/v1/auth/me').set(headers),
  };
}

describe('Users: /api/v1/users', () => {
  let t: TestApp;
  let admin: Caller;
  const api = usersApi(() => t);
  beforeAll(async () => {
    t = await startTestApp();
    admin = await signedInAdmin(t);
  });
  afterAll(() => t.close());

  describe('GET /', () => {
    it('should list every user to a holder of users:read (staff), page by page without duplicates or gaps', async () => {
      const staff = await api.signedInAs(admin, ['staff']);
      const created = [(await signUp(t.http)).id, (await signUp(t.http)).id, (await signUp(t.http)).id];
      const seen: User[] = [];
      let cursor: string | null = null;
      do {
        const res = await t.http
          .get(BASE)
          .query({ limit: 2, ...(cursor ? { cursor } : {}) })
          .set(bearer(staff))
          .expect(200);
        expect(res.body.data.length).toBeLessThanOrEqual(2);
        seen.push(...(res.body.data as User[]));
        cursor = res.body.nextCursor as string | null;
      } while (cursor !== null);
      const ids = seen.map((u) => u.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids).toHaveLength(await api.countUsers());
      expect(ids).toEqual(expect.arrayContaining([...created, staff.user.id, admin.user.id]));
      for (const user of seen) expect(Object.keys(user).sort()).toEqual(USER_FIELDS);
      expect(JSON.stringify(seen)).not.toMatch(/argon2|password/i);
    });

    it('should refuse a plain user with 403 and an anonymous caller with 401', async () => {
      const plain = await signedIn(t.http);
      expectProblem(await t.http.get(BASE).set(bearer(plain)), 403);
      expectProblem(await t.http.get(BASE), 401);
    });

    it('should refuse a bad limit or cursor with 400', async () => {
      for (const query of [{ limit: 0 }, { limit: 101 }, { limit: 'abc' }, { cursor: 'bogus' }, { role: 'admin' }]) {
        expectProblem(await t.http.get(BASE).query(query).set(bearer(admin)), 400);
      }
    });
  });

  describe('GET /:id', () => {
    it('should show a user themself, without any password hash', async () => {
      const { user, tokens } = await signedIn(t.http);
      const res = await t.http.get(url(user.id)).set(bearer(tokens)).expect(200);
      expect(res.body).toMatchObject({
        id: user.id,
        email: user.email,
        displayName: user.displayName,
        roles: ['user'],
      });
      expect(Object.keys(res.body).sort()).toEqual(USER_FIELDS);
      expect(res.text).not.toMatch(/argon2|password/i);
    });

    it('should refuse another user without users:read with 403, and show them to staff', async () => {
      const alice = await signedIn(t.http);
      const bob = await signedIn(t.http);
      expectProblem(await t.http.get(url(alice.user.id)).set(bearer(bob)), 403);
      const staff = await api.signedInAs(admin, ['staff']);
      expect((await t.http.get(url(alice.user.id)).set(bearer(staff)).expect(200)).body.id).toBe(alice.user.id);
    });

    it('should answer 404 for an unknown id and 400 for a malformed one', async () => {
      expectProblem(await t.http.get(url(randomUUID())).set(bearer(admin)), 404);
      expectProblem(await t.http.get(url('not-a-uuid')).set(bearer(admin)), 400);
    });
  });

  describe('PATCH /:id', () => {
    it.each([[{ isActive: true }], [{}]])(
      'should let an admin send %j, a change of nothing, and answer 200',
      async (body) => {
        // Found by the fuzzer: fields left out of a PATCH must not count as set to nothing.
        const { user } = await signedIn(t.http);
        const res = await t.http.patch(url(user.id)).set(bearer(admin)).send(body).expect(200);
        expect(res.body).toMatchObject({ id: user.id, roles: ['user'], isActive: true });
      },
    );

    it('should let a user change their own display name', async () => {
      const { user, tokens } = await signedIn(t.http);
      const res = await t.http.patch(url(user.id)).set(bearer(tokens)).send({ displayName: 'Renamed' }).expect(200);
      expect(res.body).toMatchObject({ id: user.id, displayName: 'Renamed', roles: ['user'], isActive: true });
      expect((await api.stored(user.id))?.display_name).toBe('Renamed');
    });

    it.each([[['admin']], [['user', 'admin']], [['staff']], [[]]])(
      'should refuse a user setting their own roles to %j with 403, leaving them unchanged',
      async (roles) => {
        const { user, tokens } = await signedIn(t.http);
        expectProblem(await t.http.patch(url(user.id)).set(bearer(tokens)).send({ roles }), 403);
        expectProblem(await t.http.patch(url(user.id)).set(bearer(tokens)).send({ displayName: 'Sneaky', roles }), 403);
        expect(await api.stored(user.id)).toEqual({ roles: ['user'], is_active: true, display_name: user.displayName });
        expect((await api.me(bearer(tokens)).expect(200)).body.roles).toEqual(['user']);
      },
    );

    it.each([false, true])('should refuse a user setting their own isActive to %s with 403', async (isActive) => {
      const { user, tokens } = await signedIn(t.http);
      expectProblem(await t.http.patch(url(user.id)).set(bearer(tokens)).send({ isActive }), 403);
      expect((await api.stored(user.id))?.is_active).toBe(true);
    });

    it.each([
      ['email', 'taken@example.test'],
      ['passwordHash', 'x'],
      ['id', randomUUID()],
    ])('should refuse an unknown field %s with 400, leaving the user unchanged', async (field, value) => {
      const { user, tokens } = await signedIn(t.http);
      expectProblem(
        await t.http
          .patch(url(user.id))
          .set(bearer(tokens))
          .send({ [field]: value }),
        400,
      );
      await logIn(t.http, user);
    });

    it.each(['displayName', 'roles', 'isActive'])(
      'should refuse %s: null with 400, not 500, leaving the user unchanged',
      async (field) => {
        // Found by the fuzzer: @IsOptional() let null through, on to a NOT NULL column.
        const { user } = await signedIn(t.http);
        const res = await t.http
          .patch(url(user.id))
          .set(bearer(admin))
          .send({ [field]: null });
        expectProblem(res, 400);
        expect(res.body.errors).toEqual([expect.objectContaining({ field })]);
        expect(await api.stored(user.id)).toEqual({ roles: ['user'], is_active: true, display_name: user.displayName });
      },
    );

    it('should refuse anyone without users:manage changing another user, staff included, with 403', async () => {
      const victim = await signedIn(t.http);
      const plain = await signedIn(t.http);
      const staff = await api.signedInAs(admin, ['staff']);
      for (const caller of [plain, staff]) {
        for (const body of [{ displayName: 'Defaced' }, { roles: ['user'] }, { isActive: false }]) {
          expectProblem(await t.http.patch(url(victim.user.id)).set(bearer(caller)).send(body), 403);
        }
        expectProblem(
          await t.http
            .patch(url(caller.user.id))
            .set(bearer(caller))
            .send({ roles: ['admin'] }),
          403,
        );
      }
      expect(await api.stored(victim.user.id)).toEqual({
        roles: ['user'],
        is_active: true,
        display_name: victim.user.displayName,
      });
    });
  });

  describe('DELETE /:id', () => {
    it('should refuse anyone without users:manage with 403, themself included', async () => {
      const victim = await signedIn(t.http);
      const plain = await signedIn(t.http);
      const staff = await api.signedInAs(admin, ['staff']);
      for (const caller of [plain, staff]) {
        expectProblem(await t.http.delete(url(victim.user.id)).set(bearer(caller)), 403);
        expectProblem(await t.http.delete(url(caller.user.id)).set(bearer(caller)), 403);
      }
      expect(await api.stored(victim.user.id)).toBeDefined();
    });

    it('should let an admin delete a user (204), whose credentials then stop working', async () => {
      const victim = await signedIn(t.http);
      await t.http.delete(url(victim.user.id)).set(bearer(admin)).expect(204);
      expectProblem(await api.me(bearer(victim)), 401);
      expectProblem(
        await t.http.post('/api/v1/auth/refresh').send({ refresh_token: victim.tokens.refresh_token }),
        401,
      );
      expectProblem(
        await t.http.post('/api/v1/auth/login').send({ email: victim.user.email, password: victim.user.password }),
        401,
      );
      expectProblem(await t.http.get(url(victim.user.id)).set(bearer(admin)), 404);
      expectProblem(await t.http.delete(url(victim.user.id)).set(bearer(admin)), 404);
      expect(await api.stored(victim.user.id)).toBeUndefined();
    });
  });

  describe('deactivation', () => {
    it('should kill every credential of the user at once: access, refresh and personal tokens, sessions, login', async () => {
      const victim = await signedIn(t.http);
      const pat = await t.http
        .post('/api/v1/auth/tokens')
        .set(bearer(victim))
        .send({ name: 'before deactivation' })
        .expect(201);
      const session = await startSession(t.http, victim.user);
      await api.me(bearer(victim)).expect(200);
      await api.me({ Authorization: `Token ${pat.body.token}` }).expect(200);
      await api.me({ Cookie: session.cookie }).expect(200);

      const res = await t.http.patch(url(victim.user.id)).set(bearer(admin)).send({ isActive: false }).expect(200);
      expect(res.body.isActive).toBe(false);

      expectProblem(await api.me(bearer(victim)), 401);
      expectProblem(
        await t.http.post('/api/v1/auth/refresh').send({ refresh_token: victim.tokens.refresh_token }),
        401,
      );
      expectProblem(await api.me({ Authorization: `Token ${pat.body.token}` }), 401);
      expectProblem(await api.me({ Cookie: session.cookie }), 401);
      expectProblem(
        await t.http.post('/api/v1/auth/login').send({ email: victim.user.email, password: victim.user.password }),
        401,
      );
      expectProblem(
        await t.http.post('/api/v1/auth/session').send({ email: victim.user.email, password: victim.user.password }),
        401,
      );
    });
  });

  describe('demotion', () => {
    it('should take a removed role away from the JWT at once, and a fresh login shows the new permissions', async () => {
      const demoted = await signedInAdmin(t);
      await t.http.get(BASE).set(bearer(demoted)).expect(200);
      const pat = await t.http.post('/api/v1/auth/tokens').set(bearer(demoted)).send({ name: 'admin era' }).expect(201);
      const token = { Authorization: `Token ${pat.body.token}` };
      await t.http.get(BASE).set(token).expect(200);

      await t.http
        .patch(url(demoted.user.id))
        .set(bearer(admin))
        .send({ roles: ['user'] })
        .expect(200);

      // The JWT issued before the demotion is revoked: it may not keep the admin's permissions.
      expectProblem(await t.http.get(BASE).set(bearer(demoted)), 401);
      expectProblem(await api.me(bearer(demoted)), 401);
      // A personal token reads roles live: it stays valid but loses what the role gave.
      expectProblem(await t.http.get(BASE).set(token), 403);
      expect((await api.me(token).expect(200)).body.permissions).not.toContain('users:manage');

      const fresh = await logIn(t.http, demoted.user);
      const me = await api.me(bearer(fresh)).expect(200);
      expect(me.body.roles).toEqual(['user']);
      expect([...me.body.permissions].sort()).toEqual([...ROLE_PERMISSIONS.user].sort());
      expectProblem(await t.http.get(BASE).set(bearer(fresh)), 403);
    });
  });
});

describe('Users: the last admin', () => {
  let t: TestApp;
  /** The one active admin of this app, whichever it is now. */
  let lastAdmin: Caller;
  const api = usersApi(() => t);
  beforeAll(async () => {
    t = await startTestApp();
    lastAdmin = await signedInAdmin(t);
  });
  afterAll(() => t.close());

  async function activeAdminIds(): Promise<string[]> {
    const rows = (await t.app
      .get(DataSource)
      .query(`SELECT id FROM users WHERE 'admin' = ANY(roles) AND is_active`)) as { id: string }[];
    return rows.map((row) => row.id);
  }

  it.each([
    ['demoting themself', { roles: ['user'] }],
    ['dropping every role', { roles: [] }],
    ['deactivating themself', { isActive: false }],
  ])('should refuse the only admin %s with 409', async (_label, body) => {
    expect(await activeAdminIds()).toEqual([lastAdmin.user.id]);
    expectProblem(await t.http.patch(url(lastAdmin.user.id)).set(bearer(lastAdmin)).send(body), 409);
    expect(await api.stored(lastAdmin.user.id)).toMatchObject({ roles: ['admin'], is_active: true });
    await t.http.get(BASE).set(bearer(lastAdmin)).expect(200);
  });

  it('should refuse the only admin deleting themself with 409', async () => {
    expectProblem(await t.http.delete(url(lastAdmin.user.id)).set(bearer(lastAdmin)), 409);
    expect(await activeAdminIds()).toEqual([lastAdmin.user.id]);
  });

  it('should let one of two admins demote the other, after which the survivor is the last', async () => {
    const second = await signedInAdmin(t);
    await t.http
      .patch(url(lastAdmin.user.id))
      .set(bearer(second))
      .send({ roles: ['user'] })
      .expect(200);
    expectProblem(await t.http.get(BASE).set(bearer(lastAdmin)), 401);
    lastAdmin = second;
    expect(await activeAdminIds()).toEqual([second.user.id]);
    expectProblem(
      await t.http
        .patch(url(second.user.id))
        .set(bearer(second))
        .send({ roles: ['user'] }),
      409,
    );
  });

  it('should let only one of two admins win when each demotes the other at once', async () => {
    const other = await signedInAdmin(t);
    const [a, b] = await Promise.all([
      t.http
        .patch(url(other.user.id))
        .set(bearer(lastAdmin))
        .send({ roles: ['user'] }),
      t.http
        .patch(url(lastAdmin.user.id))
        .set(bearer(other))
        .send({ roles: ['user'] }),
    ]);
    expect([a.status, b.status].filter((status) => status === 200)).toHaveLength(1);
    // The loser was refused as the last admin (409), or its token died with its role first (401).
    expect([409, 401]).toContain(a.status === 200 ? b.status : a.status);
    const survivors = await activeAdminIds();
    expect(survivors).toHaveLength(1);
    lastAdmin = survivors[0] === other.user.id ? other : lastAdmin;
  });
});

describe('POST /api/v1/auth/register: mass assignment', () => {
  let t: TestApp;
  const api = usersApi(() => t);
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it.each([
    ['roles', ['admin']],
    ['isActive', false],
    ['id', randomUUID()],
  ])('should refuse the extra field %s with 400 and create nothing', async (field, value) => {
    const body = newRegistration();
    const before = await api.countUsers();
    const res = await t.http.post('/api/v1/auth/register').send({ ...body, [field]: value });
    expectProblem(res, 400);
    expect(res.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
    expect(await api.countUsers()).toBe(before);
    expectProblem(await t.http.post('/api/v1/auth/login').send({ email: body.email, password: body.password }), 401);
  });

  it('should refuse a __proto__ property with 400 and create nothing', async () => {
    const body = newRegistration();
    const before = await api.countUsers();
    const raw = JSON.stringify(body).replace(/}$/, ',"__proto__":{"roles":["admin"],"isActive":true}}');
    const res = await t.http.post('/api/v1/auth/register').set('Content-Type', 'application/json').send(raw);
    expectProblem(res, 400);
    expect(await api.countUsers()).toBe(before);
    expect(({} as Record<string, unknown>).roles).toBeUndefined();
  });

  it('should still register the same email cleanly afterwards, as a plain user', async () => {
    const body = newRegistration();
    await t.http
      .post('/api/v1/auth/register')
      .send({ ...body, roles: ['admin'] })
      .expect(400);
    const res = await t.http.post('/api/v1/auth/register').send(body).expect(201);
    expect(res.body.roles).toEqual(['user']);
    const tokens = await logIn(t.http, body);
    expect((await api.me(bearer(tokens)).expect(200)).body.roles).toEqual(['user']);
  });
});
