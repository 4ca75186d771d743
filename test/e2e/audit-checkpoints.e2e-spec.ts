import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditVerify } from '../../src/cli/audit-verify.command.js';
import { generateKeySet } from '../../src/modules/auth/jwt/signing-keys.js';
import { AuditWriter } from '../../src/modules/audit/audit-writer.js';
import { CHECKPOINT_TYP } from '../../src/modules/audit/checkpoints/audit-checkpoint.js';
import { AuditCheckpointer } from '../../src/modules/audit/checkpoints/audit-checkpointer.js';
import { signedIn } from '../factories/auth.js';
import { runCli } from '../setup/cli.js';
import { appRoleUrl, ensureAppRole } from '../setup/databases.js';
import { LOCAL_POSTGRES } from '../setup/services.js';
import { startTestApp, TestDatabase, type TestApp } from '../setup/test-app.js';
import { Receiver } from './alert-webhook-receiver.js';

/** As the owner role (the admin of the test cluster owns the tables): what an insider with its password could run. */
async function asOwner(url: string, statements: string[]): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const sql of statements) await client.query(sql);
  } finally {
    await client.end();
  }
}

/**
 * The chain head signed and published outside the database, and `audit:verify` checking the
 * trail against it. The app runs as the app role; the owner role tampers, as an insider
 * holding the migration credentials (who can disable the table's triggers) would.
 */
describe('audit checkpoints', () => {
  const adminUrl = process.env.DATABASE_URL || LOCAL_POSTGRES;
  let database: TestDatabase;
  let receiver: Receiver;
  let folder: string;
  let jwtKeys: string;
  let t: TestApp;
  const verify = (args: string[] = []) => runCli(auditVerify, args, { DATABASE_URL: database.url, JWT_KEYS: jwtKeys });

  beforeAll(async () => {
    await ensureAppRole(adminUrl);
    database = (await TestDatabase.create(adminUrl)).retain();
    receiver = await Receiver.start();
    folder = await mkdtemp(join(tmpdir(), 'audit-checkpoints-'));
    jwtKeys = JSON.stringify(await generateKeySet());
    t = await startTestApp(
      {
        DATABASE_URL: appRoleUrl(database.url),
        DATABASE_MIGRATION_URL: database.url,
        JWT_KEYS: jwtKeys,
        ...receiver.env,
      },
      { database },
    );
    const { tokens } = await signedIn(t.http);
    for (let i = 0; i < 6; i++) {
      await t.http
        .post('/api/v1/resources')
        .set('Authorization', `Bearer ${tokens.access_token}`)
        .send({ name: `checkpointed ${i}`, visibility: 'private' })
        .expect(201);
    }
    await t.app.get(AuditWriter).drain();
  });
  afterAll(async () => {
    await t?.close();
    await receiver?.close();
    await database?.release();
    if (folder) await rm(folder, { recursive: true, force: true });
  });

  it('should sign the chain head with the server key (a JWS the JWKS verifies), log it and send it to the webhook', async () => {
    const checkpoint = await t.app.get(AuditCheckpointer).checkpoint();
    expect(checkpoint).toBeDefined();
    const jwks = (await t.http.get('/.well-known/jwks.json').expect(200)).body as JSONWebKeySet;
    const { payload, protectedHeader } = await jwtVerify(checkpoint?.jws ?? '', createLocalJWKSet(jwks), {
      typ: CHECKPOINT_TYP,
    });
    const [head] = (await t.app
      .get(DataSource)
      .query(`SELECT seq::text AS seq, encode(hash, 'hex') AS hash FROM audit_events ORDER BY seq DESC LIMIT 1`)) as {
      seq: string;
      hash: string;
    }[];
    expect(payload).toMatchObject({ seq: head?.seq, hash: head?.hash, at: expect.any(String) });
    // The key that signs access tokens (ES256), not the ID tokens' RS256 one.
    const signing = (JSON.parse(jwtKeys) as { keys: { kid: string; alg: string }[] }).keys.find(
      (key) => key.alg === 'ES256',
    );
    expect(protectedHeader).toMatchObject({ kid: signing?.kid, alg: 'ES256' });

    await receiver.until(() => receiver.ofType('audit.checkpoint').length > 0, 'the checkpoint');
    expect(receiver.ofType('audit.checkpoint')[0]?.data).toMatchObject({ seq: head?.seq, jws: checkpoint?.jws });
    expect(t.logs.text()).toContain(checkpoint?.jws);
    expect(receiver.forged).toEqual([]);
  });

  it('should not sign the same head twice', async () => {
    expect(await t.app.get(AuditCheckpointer).checkpoint()).toBeUndefined();
  });

  it('should find the trail intact against the newest checkpoint', async () => {
    const { code, stdout } = await verify();
    expect(stdout).toMatch(/^Audit chain intact: \d+ events\nCheckpoint of \S+ \(seq \d+\) matches\n$/);
    expect(code).toBe(0);
  });

  it('should name the missing range when the owner role deletes the newest events', async () => {
    const published = receiver.ofType('audit.checkpoint').at(-1);
    const file = join(folder, 'checkpoint.json');
    // What an operator keeps outside the database: here, the webhook body as received.
    await writeFile(file, JSON.stringify(published?.data));
    const checkpointSeq = String(published?.data.seq);
    await asOwner(database.url, [
      `ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only`,
      `DELETE FROM audit_events WHERE seq > ${BigInt(checkpointSeq) - 3n}`,
      `ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only`,
    ]);
    const last = BigInt(checkpointSeq) - 3n;
    const missing = `events seq ${last + 1n} to ${checkpointSeq} are missing`;

    const fromTable = await verify();
    // What is left still links up: only the checkpoint sees the cut.
    expect(fromTable.stdout).toMatch(/^Audit chain intact: \d+ events\n/);
    expect(fromTable.stdout).toContain(`Tail truncated: Checkpoint of`);
    expect(fromTable.stdout).toContain(`the trail ends at seq ${last}; ${missing}`);
    expect(fromTable.code).toBe(1);
  });

  it('should refuse to sign a head older than the last checkpoint, and say events were deleted', async () => {
    expect(await t.app.get(AuditCheckpointer).checkpoint()).toBeUndefined();
    expect(t.logs.text()).toContain('audit trail ends before its last checkpoint: events were deleted');
  });

  it('should still name the missing range from the copy kept outside when the checkpoints are deleted too', async () => {
    const file = join(folder, 'checkpoint.json');
    const checkpointSeq = BigInt(String(receiver.ofType('audit.checkpoint').at(-1)?.data.seq));
    const missing = `events seq ${checkpointSeq - 2n} to ${checkpointSeq} are missing`;
    await asOwner(database.url, [
      `ALTER TABLE audit_checkpoints DISABLE TRIGGER USER`,
      `DELETE FROM audit_checkpoints`,
      `ALTER TABLE audit_checkpoints ENABLE TRIGGER USER`,
    ]);
    expect((await verify()).stdout).toContain('No checkpoint to check the tail against');
    const fromFile = await verify(['--checkpoint', file]);
    expect(fromFile.stdout).toContain(missing);
    expect(fromFile.code).toBe(1);
  });

  it('should name a rewritten row', async () => {
    const [victim] = (await t.app
      .get(DataSource)
      .query(`SELECT seq::text AS seq, id FROM audit_events ORDER BY seq LIMIT 1 OFFSET 1`)) as {
      seq: string;
      id: string;
    }[];
    await asOwner(database.url, [
      `ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only`,
      `UPDATE audit_events SET target = 'rewritten' WHERE seq = ${victim?.seq}`,
      `ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only`,
    ]);
    const { code, stdout } = await verify();
    expect(stdout.split('\n')[0]).toBe(
      `Audit chain broken at event ${victim?.id} (seq ${victim?.seq}): content altered`,
    );
    expect(code).toBe(1);
  });

  it('should refuse a checkpoint signed by another key', async () => {
    const other = JSON.stringify(await generateKeySet());
    const { code, stdout } = await runCli(auditVerify, ['--checkpoint', join(folder, 'checkpoint.json')], {
      DATABASE_URL: database.url,
      JWT_KEYS: other,
    });
    expect(stdout).toContain('Checkpoint refused: signed by a key that is not ours');
    expect(code).toBe(1);
  });
});

describe('audit checkpoints on a timer', () => {
  it('should sign the head every AUDIT_CHECKPOINT_INTERVAL without being asked', async () => {
    const t = await startTestApp({ AUDIT_CHECKPOINT_INTERVAL: '1s' });
    try {
      await signedIn(t.http);
      await t.app.get(AuditWriter).drain();
      const newest = async () =>
        (
          (await t.app
            .get(DataSource)
            .query(`SELECT seq::text AS seq FROM audit_checkpoints ORDER BY id DESC LIMIT 1`)) as {
            seq: string;
          }[]
        )[0]?.seq;
      const deadline = Date.now() + 5_000;
      while (!(await newest()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      const [head] = (await t.app.get(DataSource).query(`SELECT max(seq)::text AS seq FROM audit_events`)) as {
        seq: string;
      }[];
      expect(await newest()).toBe(head?.seq);
    } finally {
      await t.close();
    }
  });
});
