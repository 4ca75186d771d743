import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { getLoggerToken, PinoLogger } from 'nestjs-pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SecurityEventOutbox } from '../../src/modules/audit/security-events/security-event-outbox.js';
import { AuditWriter } from '../../src/modules/audit/audit-writer.js';
import { signedIn, signUp } from '../factories/auth.js';
import { startTestApp, type TestApp } from '../setup/test-app.js';
import { Receiver } from './alert-webhook-receiver.js';

const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Every `security.alert` row of one detector, once the writer has flushed. */
async function alertRows(t: TestApp, detector: string): Promise<Record<string, unknown>[]> {
  await t.app.get(AuditWriter).drain();
  const rows = (await t.app
    .get(DataSource)
    .query(`SELECT * FROM audit_events WHERE action = 'security.alert' ORDER BY seq`)) as Record<string, unknown>[];
  return rows.filter((row) => (row.details as { detector?: string }).detector === detector);
}

const failLogin = (t: TestApp, email = `nobody-${randomUUID()}@example.test`) =>
  t.http.post('/api/v1/auth/login').send({ email, password: 'Wrong-Password-0000!' });

describe('security alerts', () => {
  describe('with the default thresholds', () => {
    let t: TestApp;
    let receiver: Receiver;
    beforeAll(async () => {
      receiver = await Receiver.start();
      t = await startTestApp({ ...receiver.env, ALERT_DENIED_PER_ADDRESS: '5' });
    });
    afterAll(async () => {
      await t.close();
      await receiver.close();
    });

    it('should raise exactly one alert for a burst of failed sign-ins from one address', async () => {
      for (let i = 0; i < 10; i++) expect((await failLogin(t)).status).toBe(401);
      const [call] = await receiver.waitFor('login-failures-per-address', 1);
      expect(call).toEqual({
        detector: 'login-failures-per-address',
        subject: expect.stringContaining('127.0.0.1'),
        count: 10,
        windowSeconds: 300,
        at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      });
      for (let i = 0; i < 5; i++) expect((await failLogin(t)).status).toBe(401);
      // Long enough for the delivery of a second alert (they go out at once) to arrive.
      await settle(800);
      expect(receiver.callsFor('login-failures-per-address')).toHaveLength(1);
      const rows = await alertRows(t, 'login-failures-per-address');
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({
        outcome: 'denied',
        ip: expect.stringContaining('127.0.0.1'),
        details: { detector: 'login-failures-per-address', subject: call?.subject, count: 10, window: 300 },
      });
      // This is the file's first app, so its log destination is the process's (see below).
      const warnings = t.logs.lines.filter(
        (line) => line.includes('"security alert"') && line.includes('login-failures-per-address'),
      );
      expect(warnings).toHaveLength(1);
      expect(JSON.parse(warnings[0] as string)).toMatchObject({ level: 40 });
    });

    it('should raise exactly one alert for a burst of denied responses to one address', async () => {
      const { tokens } = await signedIn(t.http);
      for (let i = 0; i < 8; i++) {
        await t.http.get('/api/v1/audit-events').set('Authorization', `Bearer ${tokens.access_token}`).expect(403);
      }
      await receiver.waitFor('denied-per-address', 1);
      await settle(800);
      expect(receiver.callsFor('denied-per-address')).toHaveLength(1);
      expect(await alertRows(t, 'denied-per-address')).toHaveLength(1);
    });

    it('should raise an alert at the first reuse of a rotated refresh token, and one only', async () => {
      const { user, tokens } = await signedIn(t.http);
      await t.http.post('/api/v1/auth/refresh').send({ refresh_token: tokens.refresh_token }).expect(200);
      await t.http.post('/api/v1/auth/refresh').send({ refresh_token: tokens.refresh_token }).expect(401);
      const [call] = await receiver.waitFor('refresh-token-reuse', 1);
      expect(call).toMatchObject({ subject: user.id, count: 1 });
      await t.http.post('/api/v1/auth/refresh').send({ refresh_token: tokens.refresh_token }).expect(401);
      await settle(800);
      expect(receiver.callsFor('refresh-token-reuse')).toHaveLength(1);
      expect(await alertRows(t, 'refresh-token-reuse')).toHaveLength(1);
    });
  });

  describe('against one account', () => {
    let t: TestApp;
    let receiver: Receiver;
    beforeAll(async () => {
      receiver = await Receiver.start();
      t = await startTestApp({ ...receiver.env, ALERT_LOGIN_FAILURES_PER_ADDRESS: '1000' });
    });
    afterAll(async () => {
      await t.close();
      await receiver.close();
    });

    it('should count attempts refused by lockout and raise one alert naming the account', async () => {
      const user = await signUp(t.http);
      const statuses: number[] = [];
      for (let i = 0; i < 12; i++) statuses.push((await failLogin(t, user.email)).status);
      // Lockout (5 per account) refuses the later ones: they are failed sign-ins all the same.
      expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
      expect(statuses.slice(5).every((status) => status === 429)).toBe(true);
      const [call] = await receiver.waitFor('login-failures-per-account', 1);
      expect(call).toMatchObject({ subject: user.email, count: 10 });
      await settle(800);
      expect(receiver.callsFor('login-failures-per-account')).toHaveLength(1);
      expect(await alertRows(t, 'login-failures-per-account')).toHaveLength(1);
      expect(receiver.callsFor('login-failures-per-address')).toHaveLength(0);
    });

    it('should try a failing webhook again with backoff until it answers: 500, 500, 200 is three calls', async () => {
      const user = await signUp(t.http);
      receiver.script = [500, 500];
      const warn = vi.spyOn(t.app.get<PinoLogger>(getLoggerToken(SecurityEventOutbox.name)), 'warn');
      const started = Date.now();
      for (let i = 0; i < 10; i++) await failLogin(t, user.email);
      await receiver.waitFor('login-failures-per-account', 3, user.email);
      // 500 ms, then 2 s (RETRY_SCHEDULE_MS).
      expect(Date.now() - started).toBeGreaterThanOrEqual(2_500);
      await settle(1_000);
      expect(receiver.callsFor('login-failures-per-account', user.email)).toHaveLength(3);
      const ids = receiver
        .ofType('security.alert')
        .filter((delivery) => delivery.data.subject === user.email)
        .map((delivery) => delivery.id);
      expect(new Set(ids).size).toBe(1);
      expect(
        (await alertRows(t, 'login-failures-per-account')).filter((row) => row.target === user.email),
      ).toHaveLength(1);
      // Through the logger itself: nestjs-pino keeps one root logger per process, so the log
      // lines of a second app in this file land in the first app's destination.
      const attempts = warn.mock.calls.filter(
        ([, message]) => message === 'security event delivery failed; will retry',
      );
      expect(attempts).toHaveLength(2);
      expect(JSON.stringify(attempts)).not.toContain('/hooks/alerts');
    });
  });

  describe('with a webhook that never answers', () => {
    let t: TestApp;
    let receiver: Receiver;
    beforeAll(async () => {
      receiver = await Receiver.start();
      t = await startTestApp({
        ...receiver.env,
        ALERT_WEBHOOK_TIMEOUT: '5s',
        ALERT_LOGIN_FAILURES_PER_ADDRESS: '1',
      });
    });
    afterAll(async () => {
      await t.close();
      await receiver.close();
    });

    it('should answer the request that raised the alert without waiting for the webhook', async () => {
      receiver.script = ['hang', 'hang', 'hang'];
      const started = Date.now();
      expect((await failLogin(t)).status).toBe(401);
      const elapsed = Date.now() - started;
      await receiver.waitFor('login-failures-per-address', 1);
      expect(elapsed).toBeLessThan(4_000);
      expect(await alertRows(t, 'login-failures-per-address')).toHaveLength(1);
    });
  });
});
