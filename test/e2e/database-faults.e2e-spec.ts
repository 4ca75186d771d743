import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { Response } from 'supertest';
import type TestAgent from 'supertest/lib/agent.js';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { connectionPool } from '../../src/db/prepared-statement.js';
import { AuditMetrics } from '../../src/modules/audit/audit-metrics.js';
import { AuditWriter } from '../../src/modules/audit/audit-writer.js';
import { signedIn, type SignedUpUser, type TokenPair } from '../factories/auth.js';
import { WriteWorkload, type WriteAnswer } from '../factories/write-workload.js';
import { LOCAL_POSTGRES } from '../setup/services.js';
import { SilenceableHop } from '../setup/silenceable-hop.js';
import { describeWithSharedServices, startTestApp, TestDatabase, type TestApp } from '../setup/test-app.js';
import { expectProblem, LEAKS_INTERNALS } from '../support/problem-details.js';

const CONNECT_TIMEOUT_S = 1;
const QUERY_TIMEOUT_S = 2;
/** The promise: a connection within DB_CONNECT_TIMEOUT, a statement within DB_QUERY_TIMEOUT, plus slack for a busy CI machine. */
const ANSWERED_WITHIN_MS = (CONNECT_TIMEOUT_S + QUERY_TIMEOUT_S) * 1000 + 1_500;
const TIMEOUTS = { DB_CONNECT_TIMEOUT: `${CONNECT_TIMEOUT_S}s`, DB_QUERY_TIMEOUT: `${QUERY_TIMEOUT_S}s` };
/** How long the database stays away, at least: as long as a quick restart. */
const OUTAGE_MS = 1_500;
const POLL_MS = 25;

/** Polls readiness until it answers `status`. */
async function readiness(http: TestAgent, status: number, withinMs: number): Promise<Response> {
  const deadline = performance.now() + withinMs;
  for (;;) {
    const res = await http.get('/health/ready');
    if (res.status === status || performance.now() > deadline) return res;
    await sleep(POLL_MS);
  }
}

async function waitFor(condition: () => Promise<boolean>, what: string, withinMs = 5_000): Promise<void> {
  const deadline = performance.now() + withinMs;
  while (!(await condition())) {
    if (performance.now() > deadline) expect.fail(`still waiting for ${what} after ${withinMs} ms`);
    await sleep(POLL_MS);
  }
}

/** As a database restart looks to the app: every session ended, and no new one let in. */
async function cutOff(admin: pg.Client, database: string): Promise<void> {
  await admin.query(`ALTER DATABASE "${database}" WITH ALLOW_CONNECTIONS false`);
  // A session that was starting as the first pass ran shows up in the next one.
  for (let pass = 0; pass < 20; pass++) {
    const { rows } = await admin.query(
      'SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
      [database],
    );
    if (rows.length === 0) return;
  }
  throw new Error(`sessions on ${database} keep coming back`);
}

function restore(admin: pg.Client, database: string): Promise<unknown> {
  return admin.query(`ALTER DATABASE "${database}" WITH ALLOW_CONNECTIONS true`);
}

/**
 * A database outage in the middle of a write workload, on this file's own database (the
 * shared Postgres keeps serving the other files): the app answers 503 problem+json at once,
 * readiness turns 503, both recover by themselves, and nothing acknowledged is lost.
 */
describeWithSharedServices('database faults', () => {
  let database: TestDatabase;
  let admin: pg.Client;
  let t: TestApp;
  let user: SignedUpUser;
  let tokens: TokenPair;
  beforeAll(async () => {
    const adminUrl = process.env.DATABASE_URL || LOCAL_POSTGRES;
    database = (await TestDatabase.create(adminUrl)).retain();
    admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    t = await startTestApp(TIMEOUTS, { database });
    ({ user, tokens } = await signedIn(t.http));
  });
  afterAll(async () => {
    // Whatever failed, the app must find its database again to close (it drains the audit buffer).
    if (admin) await restore(admin, database.name).catch(() => undefined);
    await t?.close();
    await admin?.end();
    await database?.release();
  });

  const bearer = () => ({ Authorization: `Bearer ${tokens.access_token}` });

  it('should answer 503 during an outage, recover by itself, and keep every acknowledged write', async ({
    annotate,
  }) => {
    const personal = await t.http.post('/api/v1/auth/tokens').set(bearer()).send({ name: 'outage' }).expect(201);
    const flushFailures = async () => (await t.app.get(AuditMetrics).flushFailures.get()).values[0]?.value ?? 0;
    const failedFlushesBefore = await flushFailures();
    const workload = new WriteWorkload(t.http, tokens.access_token, { writers: 6, patienceMs: 2 * ANSWERED_WITHIN_MS });
    let outageBegan = 0;
    let outageEnded = 0;
    try {
      await workload.until((answers) => answers.filter((a) => a.status === 201).length >= 20, 'writes before');
      await cutOff(admin, database.name);
      outageBegan = performance.now();
      const during = (answers: WriteAnswer[]) => answers.filter((a) => a.startedAt >= outageBegan);
      await workload.until((answers) => during(answers).length >= 30, 'answers during the outage');
      expectProblem(await readiness(t.http, 503, 0), 503);
      // Credentials and reads that need the database are 503 too: not 500, and not a 401.
      expectProblem(await t.http.get('/api/v1/auth/me').set(bearer()), 503);
      const withToken = { Authorization: `Token ${(personal.body as { token: string }).token}` };
      expectProblem(await t.http.get('/api/v1/resources').set(withToken), 503);
      expectProblem(await t.http.post('/api/v1/auth/login').send({ email: user.email, password: user.password }), 503);
      // The audit writer met the outage too: its buffer must survive it.
      await waitFor(async () => (await flushFailures()) > failedFlushesBefore, 'a failed audit flush');
      await sleep(Math.max(0, outageBegan + OUTAGE_MS - performance.now()));
      outageEnded = performance.now();
      await restore(admin, database.name);
      const after = (answers: WriteAnswer[]) => answers.filter((a) => a.startedAt > outageEnded && a.status === 201);
      await workload.until((answers) => after(answers).length >= 20, 'writes after the outage');
      expect((await readiness(t.http, 200, 5_000)).status).toBe(200);
    } finally {
      await workload.stop();
      await restore(admin, database.name);
    }

    const { answers } = workload;
    // Each with what the app logged of it, to say why.
    const unexpected = answers
      .filter((a) => a.status !== 201 && a.status !== 503)
      .map((a) => `${a.status}: ${t.logs.lines.find((line) => a.requestId && line.includes(a.requestId)) ?? ''}`);
    expect(unexpected).toEqual([]);
    const outage = answers.filter((a) => a.startedAt >= outageBegan && a.endedAt <= outageEnded);
    expect(outage.length).toBeGreaterThanOrEqual(30);
    for (const { res } of outage) {
      expectProblem(res as Response, 503);
      expect(Number(res?.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(Number(res?.headers['retry-after'])).toBeLessThanOrEqual(5);
      expect(res?.text).not.toContain(database.name);
      expect(res?.text).not.toMatch(LEAKS_INTERNALS);
    }
    const slowest = Math.max(...answers.map((a) => a.endedAt - a.startedAt));
    expect(slowest).toBeLessThan(ANSWERED_WITHIN_MS);
    const acknowledged = answers.flatMap((a) => (a.id ? [a.id] : []));
    await annotate(
      `${answers.length} writes: ${acknowledged.length} acknowledged, ${outage.length} refused during ` +
        `${Math.round(outageEnded - outageBegan)} ms of outage; slowest answer ${Math.round(slowest)} ms`,
    );

    const reader = new pg.Client({ connectionString: database.url });
    await reader.connect();
    try {
      const stored = await reader.query<{ id: string }>('SELECT id FROM resources WHERE id = ANY($1::uuid[])', [
        acknowledged,
      ]);
      expect(stored.rows.map((row) => row.id).sort()).toEqual([...acknowledged].sort());

      // Every request has its audit event, with the status it was answered with.
      await t.app.get(AuditWriter).drain();
      const audited = await reader.query<{ request_id: string; status: number }>(
        "SELECT request_id, status FROM audit_events WHERE action = 'resource.create'",
      );
      const statusByRequest = new Map(audited.rows.map((row) => [row.request_id, row.status]));
      const missing = answers.filter((a) => statusByRequest.get(a.requestId) !== a.status);
      expect(missing.map((a) => `${a.requestId}: ${a.status}`)).toEqual([]);
    } finally {
      await reader.end();
    }
    const errorLines = t.logs.lines.filter((line) => line.includes('"status":503') && line.includes('"level":50'));
    expect(errorLines.length).toBeGreaterThan(0);
    expect(errorLines.join('\n')).not.toMatch(/INSERT INTO|SELECT /);
  });

  it('should answer 503 once a statement outlasts DB_QUERY_TIMEOUT, and write again after', async () => {
    const blocker = new pg.Client({ connectionString: database.url });
    await blocker.connect();
    let res: Response;
    let took: number;
    try {
      // Held in an open transaction: the app's INSERT waits on it and gets no answer.
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE resources IN ACCESS EXCLUSIVE MODE');
      const started = performance.now();
      res = await t.http.post('/api/v1/resources').set(bearer()).send({ name: 'blocked', visibility: 'private' });
      took = performance.now() - started;
    } finally {
      await blocker.query('ROLLBACK');
      await blocker.end();
    }
    expectProblem(res, 503);
    expect(res.headers['retry-after']).toBeDefined();
    // The timeout answered it: not sooner, and not much later.
    expect(took).toBeGreaterThanOrEqual(QUERY_TIMEOUT_S * 1000 - 100);
    expect(took).toBeLessThan(QUERY_TIMEOUT_S * 1000 + 1_500);
    const canceled = t.logs.lines.find((line) => line.includes('"code":"57014"'));
    expect(canceled).toMatch(/"level":50/);
    expect(canceled).not.toMatch(/INSERT INTO|LOCK TABLE/);
    await t.http.post('/api/v1/resources').set(bearer()).send({ name: 'free', visibility: 'private' }).expect(201);
  });

  it('should stay up when a connection breaks while a prepared statement holds it, and not lend it again', async () => {
    const created = await t.http.post('/api/v1/resources').set(bearer()).send({ name: 'held', visibility: 'private' });
    expect(created.status).toBe(201);
    const pool = connectionPool(t.app.get(DataSource));
    const removed: unknown[] = [];
    const onRemove = (client: unknown): number => removed.push(client);
    // Heard once the connection has closed, after the answer.
    pool.on('remove', onRemove);
    // As when the server ends the session in the same packet as its answer: the connection's
    // error comes before the statement's caller resumes, while the connection is still lent.
    const prototype = pg.Client.prototype as unknown as { query: (...args: unknown[]) => Promise<unknown> };
    const query = prototype.query;
    const holders: pg.Client[] = [];
    let errorRaised: Promise<boolean> | undefined;
    const spy = vi.spyOn(prototype, 'query').mockImplementation(function (this: pg.Client, ...args: unknown[]) {
      const answer = query.apply(this, args);
      const config = args[0] as pg.QueryConfig | string;
      if (holders.length === 0 && typeof config === 'object' && config.name?.startsWith('resource-in-scope-')) {
        holders.push(this);
        // Emitting an error nobody listens for throws: this promise rejects then.
        errorRaised = answer.then(() => this.emit('error', new Error('terminating connection (test)')));
      }
      return answer;
    });
    try {
      await t.http.get(`/api/v1/resources/${created.body.id}`).set(bearer()).expect(200);
      expect(holders).toHaveLength(1);
      await expect(errorRaised).resolves.toBe(true);
      await vi.waitFor(() => expect(removed).toContain(holders[0]));
    } finally {
      spy.mockRestore();
      pool.off('remove', onRemove);
    }
    await t.http.get(`/api/v1/resources/${created.body.id}`).set(bearer()).expect(200);
  });

  it('should answer 503 when the database goes silent, once the client gives up waiting', async () => {
    // Nothing comes back, not even an error: only the client's own limit (DB_QUERY_TIMEOUT
    // and its margin) ends the wait. The app reaches its database through a hop that drops everything.
    const hop = await SilenceableHop.start(database.url);
    const behindHop = await startTestApp({ ...TIMEOUTS, DATABASE_URL: hop.url }, { database });
    try {
      const { tokens: mine } = await signedIn(behindHop.http);
      const list = () =>
        behindHop.http
          .get('/api/v1/resources')
          .set('Authorization', `Bearer ${mine.access_token}`)
          .timeout(2 * ANSWERED_WITHIN_MS);
      await list().expect(200);
      hop.silence();
      const started = performance.now();
      const res = await list();
      const took = performance.now() - started;
      expectProblem(res, 503);
      expect(took).toBeGreaterThanOrEqual(QUERY_TIMEOUT_S * 1000);
      expect(took).toBeLessThan(ANSWERED_WITHIN_MS);
      expectProblem(await behindHop.http.get('/health/ready'), 503);
      hop.heal();
      await waitFor(async () => (await list()).status === 200, 'a read after the network healed');
      expect((await readiness(behindHop.http, 200, 5_000)).status).toBe(200);
    } finally {
      // Closing drains the audit buffer: the app must reach its database again first.
      hop.heal();
      await behindHop.close();
      await hop.close();
    }
  });
  it('should stop within SHUTDOWN_GRACE when the database is away at shutdown, naming what it could not write', async () => {
    const stopping = await startTestApp({ ...TIMEOUTS, SHUTDOWN_GRACE: '1s' }, { database });
    let took = Number.POSITIVE_INFINITY;
    try {
      const { tokens: mine } = await signedIn(stopping.http);
      await stopping.app.get(AuditWriter).drain();
      await cutOff(admin, database.name);
      const refused = await stopping.http
        .post('/api/v1/resources')
        .set('Authorization', `Bearer ${mine.access_token}`)
        .send({ name: 'never', visibility: 'private' });
      expectProblem(refused, 503);
      const started = performance.now();
      await stopping.close();
      took = performance.now() - started;
    } finally {
      await restore(admin, database.name);
      await stopping.close();
    }
    expect(took).toBeLessThan(1_000 + ANSWERED_WITHIN_MS);
    // nestjs-pino keeps the first app's logger, so this app's lines are in that one's capture.
    const lost = t.logs.lines.find((line) => line.includes('audit events not written'));
    expect(lost).toMatch(/"level":50/);
    expect(JSON.parse(lost as string)).toMatchObject({ events: expect.any(Number) });
    expect((JSON.parse(lost as string) as { events: number }).events).toBeGreaterThanOrEqual(1);
  });
});
