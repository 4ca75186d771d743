import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { getLoggerToken, PinoLogger } from 'nestjs-pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AuditWriter } from '../../src/modules/audit/audit-writer.js';
import { OcsfStream } from '../../src/modules/audit/ocsf/ocsf-stream.js';
import { signedIn } from '../factories/auth.js';
import { ocsfClassName, problems } from '../factories/ocsf-required.js';
import { startTestApp, type TestApp } from '../setup/test-app.js';

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

/**
 * AUDIT_OCSF: the audit trail as OCSF 1.3 JSON lines, one record per stored event, each
 * valid for its class (test/factories/ocsf-required.ts checks the attributes OCSF requires).
 */
describe('OCSF stream of the audit trail', () => {
  let folder: string;
  let file: string;
  let records: Record<string, unknown>[] = [];
  let stored: { id: string; action: string }[] = [];

  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'audit-ocsf-'));
    file = join(folder, 'audit.ocsf.jsonl');
    const t: TestApp = await startTestApp({ AUDIT_OCSF: file, ALERT_LOGIN_FAILURES_PER_ADDRESS: '2' });
    try {
      const { user, tokens } = await signedIn(t.http);
      for (let i = 0; i < 2; i++) {
        await t.http.post('/api/v1/auth/login').send({ email: `nobody-${randomUUID()}@example.test`, password: 'x' });
      }
      await t.http
        .post('/api/v1/api-keys')
        .set(bearer(tokens.access_token))
        .send({ name: 'ci', scopes: ['resources:read'] })
        .expect(201);
      await t.http.patch(`/api/v1/users/${user.id}`).set(bearer(tokens.access_token)).send({ displayName: 'Ada' });
      await t.http
        .post('/api/v1/auth/password')
        .set(bearer(tokens.access_token))
        .send({ currentPassword: user.password, newPassword: 'Brand-New-Orbit-9931!' })
        .expect(204);
      await t.app.get(AuditWriter).drain();
      stored = (await t.app.get(DataSource).query(`SELECT id, action FROM audit_events ORDER BY seq`)) as typeof stored;
    } finally {
      await t.close();
    }
    records = (await readFile(file, 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  });
  afterAll(() => rm(folder, { recursive: true, force: true }));

  it('should write one record per stored audit event, in chain order', () => {
    expect(records.map((record) => (record.metadata as { uid: string }).uid)).toEqual(stored.map((row) => row.id));
  });

  it('should give every record the attributes its OCSF class requires', () => {
    for (const record of records) expect(problems(record), JSON.stringify(record)).toEqual([]);
    // The check itself bites: a sign-in without its user, an API call without its operation.
    const signIn = records.find((record) => record.class_uid === 3002) as Record<string, unknown>;
    expect(problems({ ...signIn, user: undefined })).toEqual(['Authentication: user missing']);
    const call = records.find((record) => record.class_uid === 6003) as Record<string, unknown>;
    expect(problems({ ...call, api: {} })).toEqual(['API Activity: api.operation missing']);
  });

  it('should map sign-ins, account changes, alerts and API calls to their classes', () => {
    const classOf = (action: string) =>
      records.filter((record) => (record.unmapped as { action: string }).action === action).map(ocsfClassName);
    expect(classOf('auth.login')).toContain('Authentication');
    expect(classOf('auth.password.change')).toEqual(['Account Change']);
    expect(classOf('user.update')).toEqual(['Account Change']);
    expect(classOf('security.alert')).toEqual(['Detection Finding']);
    expect(classOf('api-key.create')).toEqual(['API Activity']);
    const created = records.find((record) => (record.unmapped as { action: string }).action === 'api-key.create');
    expect(created).toMatchObject({
      class_uid: 6003,
      activity_id: 1,
      type_uid: 600301,
      api: { operation: 'api-key.create' },
    });
  });
});

describe('OCSF stream to the log', () => {
  it('should log one valid record per stored event under the field ocsf', async () => {
    const t = await startTestApp({ AUDIT_OCSF: 'log' });
    try {
      // Through the logger itself: nestjs-pino keeps one root logger per process, so the
      // lines of this file's second app land in the first app's destination.
      const info = vi.spyOn(t.app.get<PinoLogger>(getLoggerToken(OcsfStream.name)), 'info');
      await signedIn(t.http);
      await t.app.get(AuditWriter).drain();
      const logged = info.mock.calls
        .filter(([, message]) => message === 'ocsf')
        .map(([fields]) => fields as { ocsf?: Record<string, unknown> });
      const [{ n }] = (await t.app.get(DataSource).query(`SELECT count(*)::int AS n FROM audit_events`)) as [
        { n: number },
      ];
      expect(logged).toHaveLength(n);
      for (const line of logged) expect(problems(line.ocsf ?? {})).toEqual([]);
    } finally {
      await t.close();
    }
  });
});
