import { DataSource } from 'typeorm';
import { MetricsRegistry } from '../../src/common/metrics/metrics-registry.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditWriter, type PendingEvent } from '../../src/modules/audit/audit-writer.js';
import { AuditEventsRepository } from '../../src/modules/audit/audit-events.repository.js';
import { RetentionService } from '../../src/modules/retention/retention.service.js';
import { signedIn } from '../factories/auth.js';
import { appRoleUrl, ensureAppRole, TEST_APP_ROLE } from '../setup/databases.js';
import { LOCAL_POSTGRES } from '../setup/services.js';
import { startTestApp, TestDatabase, type TestApp } from '../setup/test-app.js';

const DAY = 86_400_000;

const probe = (at: Date): PendingEvent => ({
  at,
  requestId: null,
  actorId: null,
  authMethod: null,
  credentialId: null,
  action: 'retention.probe',
  target: null,
  outcome: 'success',
  ip: null,
  userAgent: null,
  status: null,
  latencyMs: null,
  details: {},
  security: false,
});

/**
 * The insider with the server's database credentials: the app runs as a role that owns
 * nothing (DATABASE_URL), while migrations run as the owner (DATABASE_MIGRATION_URL). Every
 * statement below goes through the app's own pool, as that role.
 */
describe('audit trail under least privilege (the app role)', () => {
  const adminUrl = process.env.DATABASE_URL || LOCAL_POSTGRES;
  let database: TestDatabase;
  let t: TestApp;
  const db = () => t.app.get(DataSource);
  const count = async (sql: string) => Number(((await db().query(sql)) as { n: string }[])[0]?.n);

  beforeAll(async () => {
    await ensureAppRole(adminUrl);
    database = (await TestDatabase.create(adminUrl)).retain();
    t = await startTestApp(
      { DATABASE_URL: appRoleUrl(database.url), DATABASE_MIGRATION_URL: database.url, AUDIT_RETENTION: '30d' },
      { database },
    );
    const writer = t.app.get(AuditWriter);
    for (let i = 0; i < 3; i++) await writer.enqueue(probe(new Date(Date.now() - 40 * DAY + i)));
    // Past a day, within AUDIT_RETENTION (30 days): what a shorter horizon would take.
    for (let i = 0; i < 2; i++)
      await writer.enqueue({ ...probe(new Date(Date.now() - 2 * DAY + i)), action: 'recent.probe' });
    await writer.drain();
    await signedIn(t.http);
    await writer.drain();
  });
  afterAll(async () => {
    await t?.close();
    await database?.release();
  });

  it('should run as the app role, and say in readiness that the trail is protected', async () => {
    expect(await db().query(`SELECT current_user AS role`)).toEqual([{ role: TEST_APP_ROLE }]);
    const ready = await t.http.get('/health/ready').expect(200);
    expect(ready.body.details.auditTrail).toEqual({ status: 'up', protected: true, role: TEST_APP_ROLE });
  });

  it('should refuse UPDATE, DELETE, TRUNCATE and DROP TRIGGER on audit_events to the app role', async () => {
    const before = await count(`SELECT count(*) AS n FROM audit_events`);
    await expect(db().query(`UPDATE audit_events SET action = 'x'`)).rejects.toThrow(/permission denied/);
    await expect(db().query(`DELETE FROM audit_events WHERE seq > 0`)).rejects.toThrow(/permission denied/);
    await expect(db().query(`TRUNCATE audit_events`)).rejects.toThrow(/permission denied/);
    await expect(db().query(`DROP TRIGGER audit_events_append_only ON audit_events`)).rejects.toThrow(/must be owner/);
    await expect(db().query(`ALTER TABLE audit_events DISABLE TRIGGER USER`)).rejects.toThrow(/must be owner/);
    await expect(db().query(`UPDATE audit_checkpoints SET seq = 0`)).rejects.toThrow(/permission denied/);
    await expect(db().query(`UPDATE audit_retention SET keep_seconds = 86400`)).rejects.toThrow(/permission denied/);
    expect(await count(`SELECT count(*) AS n FROM audit_events`)).toBe(before);
  });

  it('should open nothing with SET audit.purging (or any setting) in the transaction', async () => {
    await expect(
      db().transaction(async (m) => {
        await m.query(`SET LOCAL audit.purging = 'on'`);
        await m.query(`SET LOCAL session_replication_role = replica`);
      }),
    ).rejects.toThrow(/permission denied/);
    await expect(
      db().transaction(async (m) => {
        await m.query(`SET LOCAL audit.purging = 'on'`);
        await m.query(`DELETE FROM audit_events WHERE seq > 0`);
      }),
    ).rejects.toThrow(/permission denied/);
  });

  it('should still purge through RetentionService, leaving a verifiable chain', async () => {
    const before = await count(`SELECT count(*) AS n FROM audit_events`);
    expect((await t.app.get(RetentionService).purgeExpired()).auditEvents).toBe(3);
    expect(await count(`SELECT count(*) AS n FROM audit_events WHERE action = 'retention.probe'`)).toBe(0);
    expect(await count(`SELECT count(*) AS n FROM audit_events`)).toBe(before - 3);
    expect((await t.app.get(AuditEventsRepository).verifyChain()).firstBreak).toBeUndefined();
  });

  it('should not let a temporary table of the caller stand in for the recorded horizon', async () => {
    const before = await count(`SELECT count(*) AS n FROM audit_events WHERE action = 'recent.probe'`);
    expect(before).toBe(2);
    const removed = await db().transaction(async (m) => {
      await m.query(`CREATE TEMP TABLE audit_retention (singleton boolean, keep_seconds integer) ON COMMIT DROP`);
      await m.query(`INSERT INTO audit_retention VALUES (true, 86400)`);
      const [row] = (await m.query(`SELECT audit_events_purge_before(now()) AS removed`)) as [{ removed: string }];
      return Number(row.removed);
    });
    expect(removed).toBe(0);
    expect(await count(`SELECT count(*) AS n FROM audit_events WHERE action = 'recent.probe'`)).toBe(2);
  });

  it('should let the purge function delete nothing above the retention horizon the owner recorded', async () => {
    const writer = t.app.get(AuditWriter);
    for (let i = 0; i < 3; i++) await writer.enqueue(probe(new Date()));
    await writer.drain();
    const before = await count(`SELECT count(*) AS n FROM audit_events`);
    expect(before).toBeGreaterThan(3);
    // Asking for everything up to tomorrow: the function keeps to AUDIT_RETENTION (30 days).
    const [{ removed }] = (await db().query(
      `SELECT audit_events_purge_before(now() + interval '1 day') AS removed`,
    )) as [{ removed: string }];
    expect(Number(removed)).toBe(0);
    expect(await count(`SELECT count(*) AS n FROM audit_events`)).toBe(before);
  });
});

describe('audit trail with a single database role', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t?.close());

  it('should still run, with a warning in readiness and audit_trail_protected 0 in the metrics', async () => {
    const ready = await t.http.get('/health/ready').expect(200);
    expect(ready.body.details.auditTrail).toMatchObject({
      status: 'up',
      protected: false,
      warning: expect.stringMatching(/can rewrite the audit trail/),
    });
    const metrics = await t.app.get(MetricsRegistry).registry.getSingleMetricAsString('audit_trail_protected');
    expect(metrics).toMatch(/^audit_trail_protected 0$/m);
  });
});
