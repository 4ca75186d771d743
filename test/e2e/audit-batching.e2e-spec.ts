import { setTimeout as sleep } from 'node:timers/promises';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AuditWriter, type PendingEvent } from '../../src/modules/audit/audit-writer.js';
import { AuditEventsRepository } from '../../src/modules/audit/audit-events.repository.js';
import { AuditMetrics } from '../../src/modules/audit/audit-metrics.js';
import { startTestApp, type TestApp } from '../setup/test-app.js';

const EVENTS = 2_000;
const PER_MILLISECOND = 10;
/** The writer's batch size: a transaction per full batch, plus the timer's partial ones. */
const FLUSH_BATCH = 200;

/**
 * Events arriving steadily while batches are written (a server under load) must still be
 * written in full batches: a transaction for each handful that came in during the last
 * write would cost the database more than the events themselves.
 */
describe('audit batches under a steady stream of events', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  const event = (i: number, action = 'test.batching', details: Record<string, unknown> = {}): PendingEvent => ({
    at: new Date(),
    requestId: `batch-${i}`,
    actorId: null,
    authMethod: null,
    credentialId: null,
    action,
    target: String(i),
    outcome: 'success',
    ip: null,
    userAgent: null,
    status: 201,
    latencyMs: 1,
    details,
    security: false,
  });

  it('should write every event, in about one transaction per full batch', async () => {
    const writer = t.app.get(AuditWriter);
    await writer.drain();
    const dataSource = t.app.get(DataSource);
    const transactions = vi.spyOn(dataSource, 'transaction');
    for (let i = 0; i < EVENTS; i += PER_MILLISECOND) {
      for (let j = i; j < i + PER_MILLISECOND; j++) void writer.enqueue(event(j));
      await sleep(1);
    }
    await writer.drain();
    const [{ n } = { n: 0 }] = (await dataSource.query(
      `SELECT count(*)::int AS n FROM audit_events WHERE action = 'test.batching'`,
    )) as { n: number }[];
    expect(n).toBe(EVENTS);
    // Full batches, and a partial one per timer tick (500 ms) and at the end.
    expect(transactions.mock.calls.length).toBeLessThanOrEqual(EVENTS / FLUSH_BATCH + 6);
    expect((await t.app.get(AuditEventsRepository).verifyChain()).firstBreak).toBeUndefined();
  });

  it('should drop only the event the database refuses for its content, count it, and write the rest of its batch in order', async () => {
    const writer = t.app.get(AuditWriter);
    await writer.drain();
    const refused = async () => (await t.app.get(AuditMetrics).refused.get()).values[0]?.value ?? 0;
    const refusedBefore = await refused();
    // Postgres's jsonb cannot hold NUL: the batch fails as a whole, and the writer isolates the event.
    for (let i = 0; i < 5; i += 1)
      void writer.enqueue(event(i, 'test.refused', i === 2 ? { note: 'a\u0000b' } : { i }));
    await writer.drain();
    const rows = (await t.app
      .get(DataSource)
      .query(`SELECT target, details FROM audit_events WHERE action = 'test.refused' ORDER BY seq`)) as {
      target: string;
      details: unknown;
    }[];
    expect(rows).toEqual([0, 1, 3, 4].map((i) => ({ target: String(i), details: { i } })));
    expect(await refused()).toBe(refusedBefore + 1);
    expect((await t.app.get(AuditEventsRepository).verifyChain()).firstBreak).toBeUndefined();
  });
});
