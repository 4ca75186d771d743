import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditWriter, type PendingEvent } from '../../src/modules/audit/audit-writer.js';
import { AuditEventsRepository } from '../../src/modules/audit/audit-events.repository.js';
import { signedIn, signedInAdmin, signUp } from '../factories/auth.js';
import { startTestApp, type TestApp } from '../setup/test-app.js';
import { expectProblem } from '../support/problem-details.js';

describe('audit trail', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  const flush = () => t.app.get(AuditWriter).drain();
  const rows = async (action: string) =>
    (await t.app
      .get(DataSource)
      .query('SELECT * FROM audit_events WHERE action = $1 ORDER BY seq', [action])) as Record<string, unknown>[];

  it('should write exactly one event per audited request with its fields', async () => {
    const { user, tokens } = await signedIn(t.http);
    const res = await t.http
      .post('/api/v1/resources')
      .set('Authorization', `Bearer ${tokens.access_token}`)
      .set('User-Agent', 'audit-test/1.0')
      .send({ name: 'audited', visibility: 'private' })
      .expect(201);
    await flush();
    const events = (await rows('resource.create')).filter((e) => e.target === res.body.id);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      actor_id: user.id,
      auth_method: 'jwt',
      outcome: 'success',
      status: 201,
      request_id: res.headers['x-request-id'],
      user_agent: 'audit-test/1.0',
      ip: expect.any(String),
    });
    expect(events[0]?.latency_ms).toEqual(expect.any(Number));
  });

  it('should record a wrong-password login as a failure, never with the password', async () => {
    const user = await signUp(t.http);
    const wrong = 'Wrong-Password-For-Audit-771!';
    await t.http.post('/api/v1/auth/login').send({ email: user.email, password: wrong }).expect(401);
    await flush();
    const failures = (await rows('auth.login')).filter((e) => e.target === user.email && e.outcome === 'failure');
    expect(failures).toHaveLength(1);
    const all = JSON.stringify(await t.app.get(DataSource).query('SELECT * FROM audit_events'));
    expect(all).not.toContain(wrong);
    expect(all).not.toContain(user.password);
  });

  it('should answer 403 without audit:read and list events with it', async () => {
    const { tokens } = await signedIn(t.http);
    expectProblem(await t.http.get('/api/v1/audit-events').set('Authorization', `Bearer ${tokens.access_token}`), 403);
    const admin = await signedInAdmin(t);
    await flush();
    const res = await t.http
      .get('/api/v1/audit-events?action=access.denied&limit=5')
      .set('Authorization', `Bearer ${admin.tokens.access_token}`)
      .expect(200);
    expect(res.body.data.length).toBeGreaterThan(0);
    expect(res.body.data[0]).toMatchObject({ action: 'access.denied', outcome: 'denied', status: 403 });
  });

  it.each([
    ['from', '-271821-04-20T00:00:00.000Z'],
    ['to', '-004713-11-24T00:00:00.000Z'],
    ['from', '+275760-09-13T00:00:00.000Z'],
  ])('should refuse %s=%s, a date a timestamp cannot hold, with 400, not 500', async (name, value) => {
    // Found by the fuzzer: the database refused it ("timestamp out of range").
    const admin = await signedInAdmin(t);
    const res = await t.http
      .get('/api/v1/audit-events')
      .query({ [name]: value })
      .set('Authorization', `Bearer ${admin.tokens.access_token}`);
    expectProblem(res, 400);
    expect(res.body.errors).toEqual([expect.objectContaining({ field: name })]);
  });

  it('should keep an id from the path that is too long or holds a NUL as a target the table can store', async () => {
    // Found by the fuzzer: such a target failed the insert of its whole batch, again at
    // every flush, so auditing stopped and shutdown never finished draining.
    const { tokens } = await signedIn(t.http);
    const auth = { Authorization: `Bearer ${tokens.access_token}` };
    expectProblem(await t.http.delete(`/api/v1/resources/${'9'.repeat(5_000)}`).set(auth), 400);
    expectProblem(await t.http.patch('/api/v1/resources/a%00b').set(auth).send({ name: 'x' }), 400);
    const created = await t.http.post('/api/v1/resources').set(auth).send({ name: 'after', visibility: 'private' });
    expect(created.status).toBe(201);
    await flush();
    expect((await rows('resource.delete')).map((e) => e.target)).toContain('9'.repeat(200));
    expect((await rows('resource.update')).map((e) => e.target)).toContain('a\uFFFDb');
    expect((await rows('resource.create')).map((e) => e.target)).toContain(created.body.id);
  });

  it('should drop an event the database refuses, log why, and write the events around it', async () => {
    const writer = t.app.get(AuditWriter);
    const event = (target: string, outcome = 'success'): PendingEvent => ({
      at: new Date(),
      requestId: null,
      actorId: null,
      authMethod: null,
      credentialId: null,
      action: 'test.refusal',
      target,
      outcome,
      ip: null,
      userAgent: null,
      status: null,
      latencyMs: null,
      details: {},
      security: false,
    });
    await Promise.all([
      writer.enqueue(event('before')),
      writer.enqueue(event('refused', 'bogus')),
      writer.enqueue(event('after')),
    ]);
    await flush();
    expect((await rows('test.refusal')).map((e) => e.target)).toEqual(['before', 'after']);
    expect((await t.app.get(AuditEventsRepository).verifyChain()).firstBreak).toBeUndefined();
    const refusal = t.logs.lines
      .map((line) => JSON.parse(line) as { msg?: string; err?: { type?: string; message?: string } })
      .find((line) => line.msg?.startsWith('audit event refused'));
    // The error's name and message, never its SQL or parameters.
    expect(refusal?.err).toMatchObject({ type: 'QueryFailedError', message: expect.stringMatching(/constraint/) });
    expect(JSON.stringify(refusal)).not.toMatch(/INSERT|bogus/);
  });

  it('should refuse UPDATE and DELETE of audit rows, and a superuser edit breaks the chain there', async () => {
    await flush();
    const db = t.app.get(DataSource);
    await expect(db.query(`UPDATE audit_events SET action = 'x'`)).rejects.toThrow(/append-only/);
    await expect(db.query(`DELETE FROM audit_events`)).rejects.toThrow(/append-only/);
    expect((await t.app.get(AuditEventsRepository).verifyChain()).firstBreak).toBeUndefined();
    const [victim] = (await db.query('SELECT seq, id FROM audit_events ORDER BY seq LIMIT 1 OFFSET 1')) as {
      seq: string;
      id: string;
    }[];
    await db.transaction(async (m) => {
      // What a superuser could do: switch triggers off for the session and rewrite history.
      await m.query(`SET LOCAL session_replication_role = replica`);
      await m.query(`UPDATE audit_events SET action = 'tampered' WHERE seq = $1`, [victim?.seq]);
    });
    expect((await t.app.get(AuditEventsRepository).verifyChain()).firstBreak).toMatchObject({
      id: victim?.id,
      reason: 'content altered',
    });
  });
});
