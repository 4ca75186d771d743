import { randomBytes, randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditEventsRepository } from '../../src/modules/audit/audit-events.repository.js';
import { AuditWriter } from '../../src/modules/audit/audit-writer.js';
import { RetentionService } from '../../src/modules/retention/retention.service.js';
import { signedIn, signUp } from '../factories/auth.js';
import { startTestApp, type TestApp } from '../setup/test-app.js';

const MINUTE = 60_000;
const DAY = 1_440 * MINUTE;
const ago = (ms: number) => new Date(Date.now() - ms);
const ahead = (ms: number) => new Date(Date.now() + ms);

/** Rows of every kind the purge looks at, each labelled so the test can say which survived. */
async function seed(db: DataSource, userId: string): Promise<void> {
  const hash = () => randomBytes(32);
  const refresh = (label: string, expiresAt: Date) =>
    db.query(
      `INSERT INTO refresh_tokens (id, family_id, user_id, token_hash, expires_at) VALUES ($1, $1, $2, $3, $4)`,
      [label, userId, hash(), expiresAt],
    );
  await refresh('00000000-0000-4000-8000-000000000001', ago(2 * DAY));
  await refresh('00000000-0000-4000-8000-000000000002', ago(60 * MINUTE));
  await refresh('00000000-0000-4000-8000-000000000003', ahead(DAY));
  const personal = (name: string, expiresAt: Date | null) =>
    db.query(`INSERT INTO personal_tokens (user_id, name, token_hash, expires_at) VALUES ($1, $2, $3, $4)`, [
      userId,
      name,
      hash(),
      expiresAt,
    ]);
  await personal('expired', ago(MINUTE));
  await personal('no expiry', null);
  await personal('valid', ahead(DAY));
  const session = (expiresAt: Date) =>
    db.query(`INSERT INTO sessions (sid_hash, user_id, expires_at) VALUES ($1, $2, $3)`, [hash(), userId, expiresAt]);
  await session(ago(MINUTE));
  await session(ahead(DAY));
  const revoked = (expiresAt: Date) =>
    db.query(`INSERT INTO revoked_access_tokens (jti, user_id, expires_at) VALUES ($1, $2, $3)`, [
      randomUUID(),
      userId,
      expiresAt,
    ]);
  await revoked(ago(2 * MINUTE));
  // Inside the clock margin: a verifier with leeway may still meet this token.
  await revoked(ago(10_000));
  await revoked(ahead(MINUTE));
  const cutoff = (validAfter: Date) =>
    db.query(`INSERT INTO token_cutoffs (user_id, tokens_valid_after) VALUES ($1, $2)`, [randomUUID(), validAfter]);
  // Every token and grant lives 5 min at most here (JWT_ACCESS_TTL, OAUTH_ACCESS_TTL and, in
  // this file, OAUTH_REFRESH_TTL): a cutoff older than 6 min can kill no live one; its row
  // stays 10 min more, until every instance has forgotten it.
  await cutoff(ago(17 * MINUTE));
  await cutoff(ago(5 * MINUTE));
  // The revocation log is kept an hour: catch-up re-reads only its last minute.
  const logged = (at: Date) => db.query(`INSERT INTO revocation_log (at, event) VALUES ($1, '{"type":"user"}')`, [at]);
  await logged(ago(2 * 60 * MINUTE));
  await logged(ago(MINUTE));
  // OAuth artifacts are kept a day past expiry, like refresh tokens (late replays read as reuse).
  const oauthModel = (id: string, expiresAt: Date) =>
    db.query(`INSERT INTO oauth_models (model, id, payload, expires_at) VALUES ('AccessToken', $1, '{}', $2)`, [
      id,
      expiresAt,
    ]);
  await oauthModel('expired-long-ago', ago(2 * DAY));
  await oauthModel('expired-recently', ago(MINUTE));
  await oauthModel('valid', ahead(DAY));
}

describe(RetentionService.name, () => {
  describe('purgeExpired', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp({ AUDIT_RETENTION: '30d', OAUTH_REFRESH_TTL: '5m' });
      // The oldest events are written first, as they would have been.
      const writer = t.app.get(AuditWriter);
      for (let i = 0; i < 3; i++) {
        await writer.enqueue({
          at: ago(40 * DAY + i),
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
      }
      await writer.drain();
    });
    afterAll(() => t.close());

    const db = () => t.app.get(DataSource);
    const count = async (sql: string) => Number(((await db().query(sql)) as { n: string }[])[0]?.n);

    it('should delete expired credentials and stale revocations, one count per kind, and keep the rest', async () => {
      const user = await signUp(t.http);
      await signedIn(t.http);
      await seed(db(), user.id);
      await t.app.get(AuditWriter).drain();
      const before = await count(`SELECT count(*) AS n FROM audit_events`);

      const counts = await t.app.get(RetentionService).purgeExpired();
      expect(counts).toEqual({
        refreshTokens: 1,
        personalTokens: 1,
        sessions: 1,
        revokedAccessTokens: 1,
        tokenCutoffs: 1,
        revocationLog: 1,
        oauthModels: 1,
        apiKeyAddresses: 0,
        auditEvents: 3,
      });
      const refreshIds = (
        (await db().query(`SELECT id FROM refresh_tokens WHERE user_id = $1 ORDER BY id`, [user.id])) as {
          id: string;
        }[]
      ).map((row) => row.id);
      expect(refreshIds).toEqual(['00000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000003']);
      const names = (
        (await db().query(`SELECT name FROM personal_tokens WHERE user_id = $1`, [user.id])) as { name: string }[]
      ).map((row) => row.name);
      expect(names.sort()).toEqual(['no expiry', 'valid']);
      expect(await count(`SELECT count(*) AS n FROM sessions WHERE expires_at < now()`)).toBe(0);
      expect(await count(`SELECT count(*) AS n FROM revoked_access_tokens`)).toBe(2);
      expect(await count(`SELECT count(*) AS n FROM token_cutoffs`)).toBe(1);
      expect(await count(`SELECT count(*) AS n FROM audit_events WHERE action = 'retention.probe'`)).toBe(0);
      expect(await count(`SELECT count(*) AS n FROM audit_events`)).toBe(before - 3);
    });

    it('should leave the rest of the audit chain verifiable', async () => {
      const chain = await t.app.get(AuditEventsRepository).verifyChain();
      expect(chain.firstBreak).toBeUndefined();
      expect(chain.checked).toBeGreaterThan(0);
    });

    it('should find nothing more to delete the second time', async () => {
      expect(await t.app.get(RetentionService).purgeExpired()).toEqual({
        refreshTokens: 0,
        personalTokens: 0,
        sessions: 0,
        revokedAccessTokens: 0,
        tokenCutoffs: 0,
        revocationLog: 0,
        oauthModels: 0,
        apiKeyAddresses: 0,
        auditEvents: 0,
      });
    });

    it('should keep a cut-off as long as an OAuth refresh token it can kill may live', async () => {
      // OAUTH_REFRESH_TTL is 14 days by default: a 7-minute-old cut-off still kills grants.
      const other = await startTestApp();
      try {
        const db = other.app.get(DataSource);
        const userId = randomUUID();
        await db.query(
          `INSERT INTO token_cutoffs (user_id, tokens_valid_after) VALUES ($1, now() - interval '7 minutes')`,
          [userId],
        );
        expect((await other.app.get(RetentionService).purgeExpired()).tokenCutoffs).toBe(0);
        expect(await db.query(`SELECT user_id FROM token_cutoffs WHERE user_id = $1`, [userId])).toHaveLength(1);
      } finally {
        await other.close();
      }
    });

    it('should keep audit events forever when AUDIT_RETENTION is unset', async () => {
      const other = await startTestApp();
      try {
        expect((await other.app.get(RetentionService).purgeExpired()).auditEvents).toBeNull();
      } finally {
        await other.close();
      }
    });
  });

  describe('on a schedule', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp({ RETENTION_INTERVAL: '1s' });
    });
    afterAll(() => t.close());

    it('should purge every RETENTION_INTERVAL without being asked', async () => {
      const user = await signUp(t.http);
      const db = t.app.get(DataSource);
      await db.query(`INSERT INTO sessions (sid_hash, user_id, expires_at) VALUES ($1, $2, $3)`, [
        randomBytes(32),
        user.id,
        ago(MINUTE),
      ]);
      const deadline = Date.now() + 10_000;
      let left = 1;
      while (left > 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        left = Number(
          ((await db.query(`SELECT count(*) AS n FROM sessions WHERE user_id = $1`, [user.id])) as { n: string }[])[0]
            ?.n,
        );
      }
      expect(left).toBe(0);
    });
  });
});
