import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedIn, signedInAdmin, type SignedUpUser, type TokenPair } from '../factories/auth.js';
import { startTestApp, type TestApp } from '../setup/test-app.js';
import { apiKeyFor, auditEventsOf, bearer, countRows } from '../support/http.js';
import { expectProblem } from '../support/problem-details.js';

interface FieldNote {
  id: string;
  title: string;
  body: string;
  ownerId: string;
  createdAt: string;
  updatedAt: string;
}

type Caller = { user: SignedUpUser; tokens: TokenPair };

interface AuditRow {
  action: string;
  outcome: string;
  actor_id: string | null;
  target: string | null;
}

const BASE = '/api/v1/field-notes';

describe('Field notes: /api/v1/field-notes', () => {
  let t: TestApp;
  /** Sees every field note: the witness of what is really stored. */
  let witness: Caller;
  beforeAll(async () => {
    t = await startTestApp();
    witness = await signedInAdmin(t);
  });
  afterAll(() => t.close());

  const url = (id: string) => `${BASE}/${id}`;

  async function create(owner: Caller, fields: Partial<FieldNote> = {}): Promise<FieldNote> {
    const res = await t.http
      .post(BASE)
      .set(bearer(owner))
      .send({ title: `field note ${randomUUID()}`, ...fields });
    expect(res.status).toBe(201);
    return res.body as FieldNote;
  }

  /** The field note as stored, seen by an admin. */
  async function current(id: string): Promise<FieldNote | undefined> {
    const res = await t.http.get(url(id)).set(bearer(witness));
    return res.status === 200 ? (res.body as FieldNote) : undefined;
  }

  describe('POST /', () => {
    it('should create one owned by the caller, with Location and every documented field', async () => {
      const alice = await signedIn(t.http);
      const res = await t.http.post(BASE).set(bearer(alice)).send({ title: 'First' }).expect(201);
      expect(res.body).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        title: 'First',
        body: '',
        ownerId: alice.user.id,
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
      });
      expect(res.headers.location).toBe(url(res.body.id));
      expect(await current(res.body.id)).toEqual(res.body);
    });

    it('should refuse an anonymous caller with 401 and a credential without field-notes:write with 403', async () => {
      const alice = await signedIn(t.http);
      const before = await countRows(t, 'field_notes');
      expectProblem(await t.http.post(BASE).send({ title: 'anonymous' }), 401);
      const readOnly = await apiKeyFor(t, bearer(alice), ['field-notes:read']);
      expectProblem(await t.http.post(BASE).set(readOnly).send({ title: 'through a read-only key' }), 403);
      expect(await countRows(t, 'field_notes')).toBe(before);
    });

    it.each([
      ['ownerId', () => randomUUID()],
      ['id', () => randomUUID()],
      ['createdAt', () => '2000-01-01T00:00:00.000Z'],
      ['roles', () => ['admin']],
    ])('should refuse the extra field %s with 400 and create nothing', async (field, value) => {
      const alice = await signedIn(t.http);
      const before = await countRows(t, 'field_notes');
      const res = await t.http
        .post(BASE)
        .set(bearer(alice))
        .send({ title: 'mass assignment', [field]: value() });
      expectProblem(res, 400);
      expect(res.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
      expect(await countRows(t, 'field_notes')).toBe(before);
    });

    it.each([
      ['an empty title', { title: '' }],
      ['a title of 201 characters', { title: 't'.repeat(201) }],
      ['a title that is not a string', { title: 42 }],
      ['a null title', { title: null }],
      ['a body of 10001 characters', { body: 'b'.repeat(10_001) }],
    ])('should refuse %s with 400 and create nothing', async (_label, fields) => {
      const alice = await signedIn(t.http);
      const before = await countRows(t, 'field_notes');
      const res = await t.http
        .post(BASE)
        .set(bearer(alice))
        .send({ title: 'bounded', ...fields });
      expectProblem(res, 400);
      expect(res.body.errors).toEqual(
        expect.arrayContaining([expect.objectContaining({ field: Object.keys(fields)[0] })]),
      );
      expect(await countRows(t, 'field_notes')).toBe(before);
    });
  });

  describe('GET /', () => {
    it("should list the caller's own field notes, never another user's", async () => {
      const alice = await signedIn(t.http);
      const bob = await signedIn(t.http);
      const mine = await create(bob);
      await create(alice);
      const res = await t.http.get(BASE).set(bearer(bob)).expect(200);
      expect(res.body).toEqual({ data: [mine], nextCursor: null });
    });

    it('should walk every page once, newest first', async () => {
      const dave = await signedIn(t.http);
      const created: FieldNote[] = [];
      for (let i = 0; i < 5; i++) created.push(await create(dave));
      const newestFirst = [...created].sort((a, b) => b.createdAt.localeCompare(a.createdAt) || (a.id < b.id ? 1 : -1));
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await t.http
          .get(BASE)
          .query({ limit: 2, ...(cursor ? { cursor } : {}) })
          .set(bearer(dave))
          .expect(200);
        seen.push(...page.body.data.map((fieldNote: FieldNote) => fieldNote.id));
        cursor = page.body.nextCursor ?? undefined;
      } while (cursor && seen.length < 10);
      expect(seen).toEqual(newestFirst.map(({ id }) => id));
    });

    it("should show an admin everyone's field notes", async () => {
      const [alice, bob] = [await signedIn(t.http), await signedIn(t.http)];
      const theirs = [(await create(alice)).id, (await create(bob)).id];
      const res = await t.http.get(BASE).query({ limit: 100 }).set(bearer(witness)).expect(200);
      expect(res.body.data.map(({ id }: FieldNote) => id)).toEqual(expect.arrayContaining(theirs));
    });

    it('should refuse an anonymous caller with 401 and a credential without field-notes:read with 403', async () => {
      const alice = await signedIn(t.http);
      expectProblem(await t.http.get(BASE), 401);
      expectProblem(await t.http.get(BASE).set(await apiKeyFor(t, bearer(alice), ['field-notes:write'])), 403);
    });

    it.each([{ limit: '0' }, { limit: '101' }, { cursor: 'bogus' }, { ownerId: randomUUID() }])(
      'should refuse the query %j with 400',
      async (query) => {
        const alice = await signedIn(t.http);
        expectProblem(await t.http.get(BASE).query(query).set(bearer(alice)), 400);
      },
    );
  });

  describe('GET /:id', () => {
    it("should answer 404 for another user's field note, exactly as for a missing one", async () => {
      const alice = await signedIn(t.http);
      const bob = await signedIn(t.http);
      const fieldNote = await create(alice);
      expect((await t.http.get(url(fieldNote.id)).set(bearer(alice)).expect(200)).body).toEqual(fieldNote);
      const missing = await t.http.get(url(randomUUID())).set(bearer(bob));
      const hidden = await t.http.get(url(fieldNote.id)).set(bearer(bob));
      expectProblem(missing, 404);
      expectProblem(hidden, 404);
      expect({ ...hidden.body, instance: undefined, requestId: undefined }).toEqual({
        ...missing.body,
        instance: undefined,
        requestId: undefined,
      });
    });

    it('should answer a malformed id with 400, never 500', async () => {
      const alice = await signedIn(t.http);
      for (const id of ['not-a-uuid', "1' OR '1'='1", `${randomUUID()}x`]) {
        expectProblem(await t.http.get(url(encodeURIComponent(id))).set(bearer(alice)), 400);
      }
    });
  });

  describe('PATCH /:id and DELETE /:id', () => {
    it('should let the owner change one, keeping its owner and creation time', async () => {
      const alice = await signedIn(t.http);
      const fieldNote = await create(alice);
      const res = await t.http
        .patch(url(fieldNote.id))
        .set(bearer(alice))
        .send({ body: 'now with a body' })
        .expect(200);
      expect(res.body).toMatchObject({ ...fieldNote, body: 'now with a body', updatedAt: expect.any(String) });
      expect(await current(fieldNote.id)).toEqual(res.body);
    });

    it("should hide another user's field note from PATCH and DELETE with 404, leaving it unchanged", async () => {
      const alice = await signedIn(t.http);
      const bob = await signedIn(t.http);
      const fieldNote = await create(alice);
      expectProblem(await t.http.patch(url(fieldNote.id)).set(bearer(bob)).send({ title: 'stolen' }), 404);
      expectProblem(await t.http.delete(url(fieldNote.id)).set(bearer(bob)), 404);
      expect(await current(fieldNote.id)).toEqual(fieldNote);
    });

    it.each([
      ['ownerId', () => randomUUID()],
      ['id', () => randomUUID()],
      ['title', () => null],
    ])('should refuse a change to %s with 400, leaving the field note unchanged', async (field, value) => {
      const alice = await signedIn(t.http);
      const fieldNote = await create(alice);
      expectProblem(
        await t.http
          .patch(url(fieldNote.id))
          .set(bearer(alice))
          .send({ [field]: value() }),
        400,
      );
      expect(await current(fieldNote.id)).toEqual(fieldNote);
    });

    it('should refuse anonymous changes with 401, leaving the field note', async () => {
      const alice = await signedIn(t.http);
      const fieldNote = await create(alice);
      expectProblem(await t.http.patch(url(fieldNote.id)).send({ title: 'anonymous' }), 401);
      expectProblem(await t.http.delete(url(fieldNote.id)), 401);
      expect(await current(fieldNote.id)).toEqual(fieldNote);
    });

    it("should let the owner delete theirs, and an admin anyone's", async () => {
      const alice = await signedIn(t.http);
      const [mine, moderated] = [await create(alice), await create(alice)];
      await t.http.delete(url(mine.id)).set(bearer(alice)).expect(204);
      await t.http.delete(url(moderated.id)).set(bearer(witness)).expect(204);
      expectProblem(await t.http.get(url(mine.id)).set(bearer(alice)), 404);
      expect(await current(moderated.id)).toBeUndefined();
    });
  });

  describe('audit', () => {
    it('should record one event per change, and refused ones as failures', async () => {
      const alice = await signedIn(t.http);
      const bob = await signedIn(t.http);
      const actor = { actor_id: alice.user.id };
      const created = await t.http.post(BASE).set(bearer(alice)).send({ title: 'audited' }).expect(201);
      const id = created.body.id as string;
      const target = { target: id };
      expect(await auditEventsOf<AuditRow>(t, created, 'action, outcome, actor_id, target')).toEqual([
        { action: 'field-note.create', outcome: 'success', ...actor, ...target },
      ]);
      const updated = await t.http.patch(url(id)).set(bearer(alice)).send({ title: 'changed' }).expect(200);
      expect(await auditEventsOf<AuditRow>(t, updated, 'action, outcome, actor_id, target')).toEqual([
        { action: 'field-note.update', outcome: 'success', ...actor, ...target },
      ]);
      const refused = await t.http.delete(url(id)).set(bearer(bob)).expect(404);
      expect(await auditEventsOf<AuditRow>(t, refused, 'action, outcome, actor_id, target')).toEqual([
        { action: 'field-note.delete', outcome: 'failure', actor_id: bob.user.id, ...target },
      ]);
      const deleted = await t.http.delete(url(id)).set(bearer(alice)).expect(204);
      expect(await auditEventsOf<AuditRow>(t, deleted, 'action, outcome, actor_id, target')).toEqual([
        { action: 'field-note.delete', outcome: 'success', ...actor, ...target },
      ]);
    });
  });

  describe('schema', () => {
    it('should be built by the migration exactly as the entity describes it', async () => {
      const pending = await t.app.get(DataSource).driver.createSchemaBuilder().log();
      const ours = pending.upQueries.map((q) => q.query).filter((sql) => sql.includes('field_notes'));
      expect(ours).toEqual([]);
    });
  });
});
