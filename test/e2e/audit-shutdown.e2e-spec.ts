import pg from 'pg';
import { DataSource } from 'typeorm';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { MetricsRegistry } from '../../src/common/metrics/metrics-registry.js';
import { AuditEventsRepository } from '../../src/modules/audit/audit-events.repository.js';
import { AuditWriter } from '../../src/modules/audit/audit-writer.js';
import { signedIn } from '../factories/auth.js';
import { startTestApp, TestDatabase, type TestApp } from '../setup/test-app.js';

const REQUESTS = 30;

async function bufferDepth(t: TestApp): Promise<number> {
  const metric = await t.app.get(MetricsRegistry).registry.getSingleMetric('audit_buffer_depth')?.get();
  return metric?.values[0]?.value ?? 0;
}

/**
 * Events of requests answered just before shutdown must reach the table: the writer
 * drains its buffer before the database closes. What the table holds is read as the pool
 * closes (on both databases) and, on a real Postgres, again from outside after the app is
 * gone.
 */
describe('audit trail at shutdown', () => {
  const adminUrl = process.env.DATABASE_URL;
  let database: TestDatabase | undefined;
  afterAll(() => database?.release());

  it('should write the events of every request answered before close', async () => {
    // On Postgres the test holds the database too, so it outlives the app.
    database = adminUrl ? (await TestDatabase.create(adminUrl)).retain() : undefined;
    const t = await startTestApp({}, database ? { database } : {});
    const writer = t.app.get(AuditWriter);
    const dataSource = t.app.get(DataSource);
    try {
      const { tokens } = await signedIn(t.http);
      await writer.drain();
      // Hold the timer's flushes, so the events are still buffered when close begins.
      let holding = true;
      const flush = writer.flush.bind(writer);
      vi.spyOn(writer, 'flush').mockImplementation(() => (holding ? Promise.resolve(false) : flush()));

      const ids = new Set<string>();
      await Promise.all(
        Array.from({ length: REQUESTS }, async (_, i) => {
          const res = await t.http
            .post('/api/v1/resources')
            .set('Authorization', `Bearer ${tokens.access_token}`)
            .send({ name: `shutdown ${i}`, visibility: 'private' });
          expect(res.status).toBe(201);
          ids.add(res.body.id as string);
        }),
      );
      expect(await bufferDepth(t)).toBeGreaterThanOrEqual(REQUESTS);

      let atPoolClose:
        { targets: string[]; chain: Awaited<ReturnType<AuditEventsRepository['verifyChain']>> } | undefined;
      const destroy = dataSource.destroy.bind(dataSource);
      const repository = t.app.get(AuditEventsRepository);
      dataSource.destroy = async () => {
        const rows = (await dataSource.query(`SELECT target FROM audit_events WHERE action = 'resource.create'`)) as {
          target: string;
        }[];
        atPoolClose = { targets: rows.map((row) => row.target), chain: await repository.verifyChain() };
        return destroy();
      };
      holding = false;
      await t.close();

      expect(atPoolClose).toBeDefined();
      expect(new Set(atPoolClose?.targets)).toEqual(ids);
      expect(atPoolClose?.chain.firstBreak).toBeUndefined();
      expect(dataSource.isInitialized).toBe(false);
    } finally {
      await t.close();
    }

    if (database) {
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      try {
        const { rows } = await client.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM audit_events WHERE action = 'resource.create'`,
        );
        expect(rows[0]?.n).toBe(REQUESTS);
      } finally {
        await client.end();
      }
    }
  });
});
