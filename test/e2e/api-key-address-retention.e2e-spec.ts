import { DataSource } from 'typeorm';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ApiKeyAddressMonitor } from '../../src/modules/api-keys/api-key-address-monitor.js';
import { ApiKey } from '../../src/modules/api-keys/api-key.entity.js';
import { AuditWriter } from '../../src/modules/audit/audit-writer.js';
import { RetentionService } from '../../src/modules/retention/retention.service.js';
import { signedIn } from '../factories/auth.js';
import { spyOnSql } from '../setup/sql-spy.js';
import { startTestApp, type TestApp } from '../setup/test-app.js';

const DAY = 86_400_000;
/** Where supertest's requests come from. */
const CLIENT_ADDRESS = '127.0.0.1';

interface CreatedKey {
  id: string;
  key: string;
}

/**
 * `api_key_addresses` keeps a row per key and address bucket; the retention purge bounds it
 * (API_KEY_ADDRESS_RETENTION, 90 days by default, and 1,000 buckets per key) and the monitor
 * refreshes `last_seen_at` of a pair in use at most once a day.
 */
describe('API-key addresses: retention', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());
  afterEach(() => {
    vi.restoreAllMocks();
  });

  const query = (sql: string, params: unknown[] = []) =>
    t.app.get(DataSource).query(sql, params) as Promise<Record<string, unknown>[]>;

  async function createKey(): Promise<CreatedKey> {
    const { tokens } = await signedIn(t.http);
    const res = await t.http
      .post('/api/v1/api-keys')
      .set('Authorization', `Bearer ${tokens.access_token}`)
      .send({ name: 'deploy bot', scopes: ['resources:read'] });
    expect(res.status).toBe(201);
    return res.body as CreatedKey;
  }

  async function useKey(key: CreatedKey): Promise<void> {
    const res = await t.http.get('/api/v1/auth/me').set('X-API-Key', key.key);
    expect(res.status, res.text).toBe(200);
    await t.app.get(ApiKeyAddressMonitor).settled();
  }

  /** Rows of the key as if last seen `daysAgo[i]` days ago, from 198.51.100.<i>. */
  async function seed(key: CreatedKey, daysAgo: number[]): Promise<void> {
    for (const [i, days] of daysAgo.entries()) {
      await query(
        `INSERT INTO api_key_addresses (key_id, address, first_seen_at, last_seen_at)
         VALUES ($1, $2, now() - make_interval(days => $3), now() - make_interval(days => $3))`,
        [key.id, `198.51.100.${i}`, days],
      );
    }
  }

  async function addresses(key: CreatedKey): Promise<string[]> {
    const rows = await query(`SELECT address FROM api_key_addresses WHERE key_id = $1 ORDER BY address`, [key.id]);
    return rows.map((row) => row.address as string);
  }

  /** The pair's last_seen_at as Postgres prints it (to the microsecond), and whether it is under a minute old. */
  async function lastSeen(key: CreatedKey, address: string): Promise<{ at: string; fresh: boolean }> {
    const [row] = await query(
      `SELECT last_seen_at::text AS at, last_seen_at > now() - interval '1 minute' AS fresh
       FROM api_key_addresses WHERE key_id = $1 AND address = $2`,
      [key.id, address],
    );
    return { at: row?.at as string, fresh: row?.fresh as boolean };
  }

  const purge = async () => (await t.app.get(RetentionService).purgeExpired()).apiKeyAddresses;

  it('should purge an address not seen for 90 days and keep one seen since', async () => {
    const key = await createKey();
    await seed(key, [91, 89, 0]);

    expect(await purge()).toBe(1);
    expect(await addresses(key)).toEqual(['198.51.100.1', '198.51.100.2']);
    expect(await purge()).toBe(0);
  });

  it("should keep a key's latest address whatever its age, so a use from elsewhere still alerts", async () => {
    const key = await createKey();
    await seed(key, [200, 150, 120]);

    expect(await purge()).toBe(2);
    expect(await addresses(key)).toEqual(['198.51.100.2']);

    await useKey(key);
    await t.app.get(AuditWriter).drain();
    const alerts = await query(
      `SELECT details FROM audit_events WHERE action = 'api-key.new-address' AND target = $1`,
      [key.id],
    );
    expect(alerts).toEqual([{ details: { address: CLIENT_ADDRESS } }]);
    // Now that the key was seen elsewhere, the old address is no longer its latest.
    expect(await purge()).toBe(1);
    expect(await addresses(key)).toEqual([CLIENT_ADDRESS]);
  });

  it('should keep at most 1,000 addresses per key, the most recently seen, across several batches', async () => {
    const key = await createKey();
    const other = await createKey();
    // A leaked key run from a botnet: 6,200 buckets, each seen a minute before the next.
    await query(
      `INSERT INTO api_key_addresses (key_id, address, last_seen_at)
       SELECT $1, '10.' || (n / 256) || '.' || (n % 256) || '.1', now() - make_interval(mins => n)
       FROM generate_series(1, 6200) AS n`,
      [key.id],
    );
    await seed(other, [1, 2, 3]);

    expect(await purge()).toBe(5_200);
    const [kept] = await query(
      `SELECT count(*)::int AS n, max(now() - last_seen_at) < interval '1001 minutes' AS newest
       FROM api_key_addresses WHERE key_id = $1`,
      [key.id],
    );
    expect(kept).toEqual({ n: 1_000, newest: true });
    expect(await addresses(other)).toEqual(['198.51.100.0', '198.51.100.1', '198.51.100.2']);
  });

  it('should not write a pair seen again within a day, and refresh its last sighting once a day has passed', async () => {
    const key = await createKey();
    await useKey(key);
    expect((await lastSeen(key, CLIENT_ADDRESS)).fresh).toBe(true);
    // As if written two days ago: only this instance's memory says it was written just now.
    await query(
      `UPDATE api_key_addresses SET last_seen_at = now() - interval '2 days' WHERE key_id = $1 AND address = $2`,
      [key.id, CLIENT_ADDRESS],
    );
    const aged = await lastSeen(key, CLIENT_ADDRESS);
    expect(aged.fresh).toBe(false);

    const sql = spyOnSql();
    const addressStatements = () => sql.statements().filter((statement) => statement.includes('api_key_addresses'));
    for (let i = 0; i < 5; i++) await useKey(key);
    expect(addressStatements()).toEqual([]);
    expect(await lastSeen(key, CLIENT_ADDRESS)).toEqual(aged);

    // A day on, the next use writes the pair again.
    const entity = await t.app.get(DataSource).getRepository(ApiKey).findOneByOrFail({ id: key.id });
    const monitor = t.app.get(ApiKeyAddressMonitor);
    sql.reset();
    monitor.noteUse(entity, CLIENT_ADDRESS, Date.now() + DAY);
    await monitor.settled();
    expect(addressStatements()).toHaveLength(1);
    const refreshed = await lastSeen(key, CLIENT_ADDRESS);
    expect(refreshed.fresh).toBe(true);

    // Another day on for this instance, but the row was refreshed within the day (as by
    // another instance): the statement runs and changes nothing.
    sql.reset();
    monitor.noteUse(entity, CLIENT_ADDRESS, Date.now() + 2 * DAY);
    await monitor.settled();
    expect(addressStatements()).toHaveLength(1);
    expect(await lastSeen(key, CLIENT_ADDRESS)).toEqual(refreshed);
  });
});
