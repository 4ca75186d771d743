import { randomBytes } from 'node:crypto';
import { Agent } from 'node:http';
import { EventEmitter2 } from '@nestjs/event-emitter';
import type { Response } from 'supertest';
import { DataSource } from 'typeorm';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { AUDIT_RECORD, type AuditRecord } from '../../src/common/audit/audit-record.js';
import { AuditWriter, NOT_RECORDED_ACTION } from '../../src/modules/audit/audit-writer.js';
import { startTestApp, type TestApp } from '../setup/test-app.js';
import { spyOnSql } from '../setup/sql-spy.js';
import { expectRateLimitHeaders, expectThrottled } from '../support/rate-limit-headers.js';

interface AuditRow {
  seq: string;
  action: string;
  status: number | null;
  ip: string | null;
  target: string | null;
  details: Record<string, unknown>;
}

/** A client whose connections come from `address` (all of 127.0.0.0/8 is loopback): a bucket of its own. */
function clientAt(t: () => TestApp, address: string) {
  const agent = new Agent({ localAddress: address });
  return {
    get: (path: string) => t().http.get(path).agent(agent),
    post: (path: string) => t().http.post(path).agent(agent),
  };
}

/** Sends `send` until it answers 429 (at most `bound` times); every other answer must be `allowed`. */
async function untilThrottled(send: () => Promise<Response>, bound: number, allowed: number[]): Promise<Response> {
  for (let sent = 1; sent <= bound; sent++) {
    const res = await send();
    if (res.status === 429) return res;
    expect(allowed, `${res.status} ${res.text}`).toContain(res.status);
  }
  return expect.fail(`still not limited after ${bound} requests`);
}

describe('refused credentials (RATE_LIMIT_ANON=20/min)', () => {
  let app: TestApp | undefined;
  const t = () => app as TestApp;
  beforeAll(async () => {
    // The denied-per-address alert would write its own event once mid-flood; it has its own tests.
    app = await startTestApp({ RATE_LIMIT_ANON: '20/min', ALERT_DENIED_PER_ADDRESS: '100000' });
  });
  afterAll(() => app?.close());
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('should refuse a flood of random tokens at once past the address limit, with no SQL per refusal and a handful of aggregated audit rows', async () => {
    const address = '127.0.0.61';
    const client = clientAt(t, address);
    const writer = t().app.get(AuditWriter);
    const random = () =>
      client.get('/api/v1/resources').set('Authorization', `Bearer ${randomBytes(24).toString('base64url')}`);
    const statuses: number[] = [];
    // Up to the limit each token is looked up (opaque tokens are read from the database) and refused.
    let res = await random();
    while (res.status === 401) {
      statuses.push(res.status);
      res = await random();
    }
    statuses.push(res.status);
    expectThrottled(res, { limit: 20, name: 'anonymous' });
    expect(statuses.length).toBeLessThanOrEqual(21);
    // Whatever the lookups left to write is written now, so the count below is the flood's alone.
    await writer.drain();
    const sql = spyOnSql();
    while (statuses.length < 200) {
      res = await random();
      statuses.push(res.status);
      expectThrottled(res, { limit: 20, name: 'anonymous' });
    }
    expect(sql.statements()).toEqual([]);
    // Liveness is never limited: the same address still gets its answer there (a refused
    // credential is 401 on every route), not a 429.
    const live = await client
      .get('/health/live')
      .set('Authorization', `Bearer ${randomBytes(24).toString('base64url')}`);
    expect(live.status).toBe(401);

    await writer.drain();
    const rows = (await t()
      .app.get(DataSource)
      .query('SELECT seq, action, status, ip, target, details FROM audit_events WHERE ip = $1 ORDER BY seq', [
        address,
      ])) as AuditRow[];
    // The first refusal of each reason, its aggregate (closed early by the drain above, as at
    // shutdown), and liveness's refusal, first of a new tally.
    expect(rows.length).toBeLessThanOrEqual(5);
    // Every refusal is in a row or a count: nothing was dropped to keep the trail short. The
    // request that met the limit was looked up (and refused) before it was counted, and so
    // was the one to liveness.
    const accounted = (action: string) =>
      rows.filter((row) => row.action === action).reduce((sum, row) => sum + Number(row.details.aggregated ?? 1), 0);
    expect(accounted('auth.credential.refused')).toBe(statuses.filter((status) => status === 401).length + 2);
    expect(accounted('rate-limit.exceeded')).toBe(statuses.filter((status) => status === 429).length);
    const aggregate = rows.find((row) => row.action === 'rate-limit.exceeded' && row.details.aggregated !== undefined);
    expect(aggregate?.details).toMatchObject({ addressBucket: address, windowStart: expect.any(String) });
  });

  it('should refuse a token refused lately from the same address again without looking it up', async () => {
    const token = `Bearer ${randomBytes(24).toString('base64url')}`;
    const send = (address: string) => clientAt(t, address).get('/api/v1/resources').set('Authorization', token);
    const writer = t().app.get(AuditWriter);
    expect((await send('127.0.0.63')).status).toBe(401);
    await writer.drain();
    const sql = spyOnSql();
    for (let sent = 0; sent < 5; sent++) expect((await send('127.0.0.63')).status).toBe(401);
    expect(sql.statements()).toEqual([]);
    // From elsewhere it is looked up afresh: a refusal may depend on where a credential comes from.
    expect((await send('127.0.0.64')).status).toBe(401);
    expect(sql.statements().length).toBeGreaterThan(0);
  });

  it('should still look credentials up for another address meanwhile', async () => {
    const res = await clientAt(t, '127.0.0.62')
      .get('/api/v1/resources')
      .set('Authorization', `Bearer ${randomBytes(24).toString('base64url')}`);
    expect(res.status).toBe(401);
  });
});

describe('one limiter for every surface (RATE_LIMIT_ANON=8/min, RATE_LIMIT_AUTH=3/min)', () => {
  let app: TestApp | undefined;
  const t = () => app as TestApp;
  beforeAll(async () => {
    app = await startTestApp({ RATE_LIMIT_ANON: '8/min', RATE_LIMIT_AUTH: '3/min' });
  });
  afterAll(() => app?.close());

  it('should limit the token endpoint at the auth rate per address with Retry-After and RateLimit headers', async () => {
    const client = clientAt(t, '127.0.0.71');
    const res = await untilThrottled(
      () =>
        client
          .post('/oauth/token')
          .type('form')
          .send({ grant_type: 'client_credentials', client_id: 'nobody', client_secret: 'x' }),
      4,
      [400, 401],
    );
    expectThrottled(res, { limit: 3, name: 'auth' });
  });

  it('should limit the authorization endpoint at the anonymous rate per address', async () => {
    const client = clientAt(t, '127.0.0.72');
    const res = await untilThrottled(
      () => client.get('/oauth/auth?client_id=nobody&response_type=code&scope=openid'),
      9,
      [302, 303, 400],
    );
    expectThrottled(res, { limit: 8, name: 'anonymous' });
  });

  it('should limit the sign-in form at the auth rate per address', async () => {
    const client = clientAt(t, '127.0.0.73');
    const res = await untilThrottled(
      () =>
        client.post('/oauth/interaction/some-uid/login').type('form').send({ email: 'a@example.com', password: 'x' }),
      4,
      [400, 403, 404],
    );
    expectThrottled(res, { limit: 3, name: 'auth' });
  });

  it('should count the sign-in page, docs, metrics and readiness against the address, but never liveness', async () => {
    const client = clientAt(t, '127.0.0.74');
    const surfaces = ['/oauth/interaction/some-uid', '/docs/openapi.json', '/metrics', '/health/ready'];
    const first = await client.get('/docs/openapi.json');
    expect(first.status).toBe(200);
    expectRateLimitHeaders(first, { limit: 8, remaining: 7 });
    for (let sent = 1; sent < 8; sent++) await client.get(surfaces[sent % surfaces.length] as string);
    for (const path of surfaces) expectThrottled(await client.get(path), { limit: 8, name: 'anonymous' });
    for (let sent = 0; sent < 10; sent++) expect((await client.get('/health/live')).status).toBe(200);
  });
});

describe('an audit flood with AUDIT_BUFFER_CAPACITY=2', () => {
  let app: TestApp | undefined;
  const t = () => app as TestApp;
  beforeAll(async () => {
    app = await startTestApp({ AUDIT_BUFFER_CAPACITY: '2' });
  });
  afterAll(() => app?.close());

  it('should write a marker into the chain counting, by action, every event it could not hold, with the seq before them', async () => {
    const events = t().app.get(EventEmitter2);
    const writer = t().app.get(AuditWriter);
    await writer.drain();
    const flood = Array.from({ length: 50 }, (_, index) => {
      const record: AuditRecord = { action: index % 2 ? 'user.update' : 'api-key.create', outcome: 'success' };
      return events.emitAsync(AUDIT_RECORD, record);
    });
    await Promise.all(flood);
    await writer.drain();
    const rows = (await t()
      .app.get(DataSource)
      .query(
        `SELECT seq, action, status, ip, target, details FROM audit_events
         WHERE action IN ('user.update', 'api-key.create', $1) ORDER BY seq`,
        [NOT_RECORDED_ACTION],
      )) as AuditRow[];
    const markers = rows.filter((row) => row.action === NOT_RECORDED_ACTION);
    expect(markers).toHaveLength(1);
    const marker = markers[0] as AuditRow;
    const byAction = marker.details.byAction as Record<string, number>;
    const stored = (action: string) => rows.filter((row) => row.action === action).length;
    expect(stored('user.update') + (byAction['user.update'] ?? 0)).toBe(25);
    expect(stored('api-key.create') + (byAction['api-key.create'] ?? 0)).toBe(25);
    expect(marker.details.total).toBe(48);
    // The shed events fall between the row named and the marker: the rows held before them.
    const before = rows.filter((row) => BigInt(row.seq) <= BigInt(marker.details.afterSeq as string));
    expect(before.length).toBe(2);
    expect(rows.at(-1)).toBe(marker);
  });

  it('should hold security events back until there is room, and store every one', async () => {
    const events = t().app.get(EventEmitter2);
    const writer = t().app.get(AuditWriter);
    await writer.drain();
    const flood = Array.from({ length: 50 }, (_, index) =>
      events.emitAsync(AUDIT_RECORD, {
        action: 'auth.login',
        outcome: 'failure',
        security: true,
        target: `flood-${index}@example.com`,
      } satisfies AuditRecord),
    );
    await Promise.all(flood);
    await writer.drain();
    const [{ stored }] = (await t()
      .app.get(DataSource)
      .query(
        `SELECT count(*)::int AS stored FROM audit_events WHERE action = 'auth.login' AND target LIKE 'flood-%'`,
      )) as {
      stored: number;
    }[];
    expect(stored).toBe(50);
  });
});
