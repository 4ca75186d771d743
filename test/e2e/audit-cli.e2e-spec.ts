import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditVerify } from '../../src/cli/audit-verify.command.js';
import { tokensPurge } from '../../src/cli/tokens-purge.command.js';
import type { CliCommand } from '../../src/cli/cli-command.js';
import { generateKeySet } from '../../src/modules/auth/jwt/signing-keys.js';
import { AuditWriter } from '../../src/modules/audit/audit-writer.js';
import { signedIn } from '../factories/auth.js';
import { runCli, type CliStorage } from '../setup/cli.js';
import { startTestApp, TestDatabase, type TestApp } from '../setup/test-app.js';

/** Characters an array literal must quote or escape; the verify below re-hashes what was stored. */
const AWKWARD_USER_AGENT = 'curl/8 "q" \\b\\ {a,b} NULL (x; y)';

/**
 * The commands as an operator runs them: against the database a server used, after it
 * stopped (the embedded database is a data folder only one process may open at a time).
 */
describe('CLI: tokens:purge and audit:verify', () => {
  const adminUrl = process.env.DATABASE_URL;
  let database: TestDatabase | undefined;
  let dataDir: string | undefined;

  let jwtKeys = '';

  /**
   * What every app and command of this file runs on: one Postgres database, or one data
   * folder (which holds the signing keys too); checkpoints are verified with the app's keys.
   */
  const storage = (): CliStorage =>
    database ? { DATABASE_URL: database.url, JWT_KEYS: jwtKeys } : { DATA_DIR: dataDir as string };

  async function withApp(work: (t: TestApp) => Promise<void>): Promise<void> {
    const t = await startTestApp(storage(), database ? { database } : {});
    try {
      await work(t);
      await t.app.get(AuditWriter).drain();
    } finally {
      await t.close();
    }
  }

  const run = (command: CliCommand, args: string[] = []) => runCli(command, args, storage());

  beforeAll(async () => {
    jwtKeys = JSON.stringify(await generateKeySet());
    if (adminUrl) database = (await TestDatabase.create(adminUrl)).retain();
    else dataDir = await mkdtemp(join(tmpdir(), 'audit-cli-'));
  });
  afterAll(async () => {
    await database?.release();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  let events = 0;
  it('should purge expired sessions and print a count per kind', async () => {
    await withApp(async (t) => {
      const { user, tokens } = await signedIn(t.http);
      await t.http
        .post('/api/v1/resources')
        .set('Authorization', `Bearer ${tokens.access_token}`)
        .set('User-Agent', AWKWARD_USER_AGENT)
        .send({ name: 'cli', visibility: 'private' })
        .expect(201);
      await t.app
        .get(DataSource)
        .query(`INSERT INTO sessions (sid_hash, user_id, expires_at) VALUES ($1, $2, now() - interval '1 hour')`, [
          randomBytes(32),
          user.id,
        ]);
      await t.app.get(AuditWriter).drain();
      // Stored as sent: the batch travels as arrays, whose literals quote and escape.
      const stored = (await t.app
        .get(DataSource)
        .query(`SELECT user_agent FROM audit_events WHERE action = 'resource.create'`)) as { user_agent: string }[];
      expect(stored).toEqual([{ user_agent: AWKWARD_USER_AGENT }]);
      const [row] = (await t.app.get(DataSource).query(`SELECT count(*)::int AS n FROM audit_events`)) as {
        n: number;
      }[];
      events = row?.n ?? 0;
    });
    expect(events).toBeGreaterThan(0);
    const { code, stdout } = await run(tokensPurge);
    expect(code).toBe(0);
    expect(stdout).toContain('sessions: 1\n');
    expect(stdout).toContain('audit events: kept (AUDIT_RETENTION unset)');
  });

  it('should say the chain is intact, with the number of events, and exit 0', async () => {
    const { code, stdout } = await run(auditVerify);
    // The app signed the head at shutdown; nothing was written after it.
    expect(stdout).toMatch(
      new RegExp(`^Audit chain intact: ${events} events\\nCheckpoint of \\S+ \\(seq \\d+\\) matches\\n$`),
    );
    expect(code).toBe(0);
  });

  it('should name the first altered event and exit 1', async () => {
    let victim: { seq: string; id: string } | undefined;
    await withApp(async (t) => {
      const db = t.app.get(DataSource);
      [victim] = (await db.query('SELECT seq, id FROM audit_events ORDER BY seq LIMIT 1 OFFSET 1')) as {
        seq: string;
        id: string;
      }[];
      await db.transaction(async (m) => {
        await m.query(`SET LOCAL session_replication_role = replica`);
        await m.query(`UPDATE audit_events SET target = 'tampered' WHERE seq = $1`, [victim?.seq]);
      });
    });
    const { code, stdout } = await run(auditVerify);
    expect(stdout.split('\n')[0]).toBe(
      `Audit chain broken at event ${victim?.id} (seq ${victim?.seq}): content altered`,
    );
    expect(code).toBe(1);
  });

  it('should refuse arguments it does not know', async () => {
    await expect(run(auditVerify, ['--fast'])).rejects.toThrow(/unexpected arguments/);
    await expect(run(auditVerify, ['--checkpoint'])).rejects.toThrow(/unexpected arguments/);
    await expect(run(tokensPurge, ['now'])).rejects.toThrow(/unexpected arguments/);
  });
});
