import pg from 'pg';
import { getLoggerToken, PinoLogger } from 'nestjs-pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MetricsRegistry } from '../../src/common/metrics/metrics-registry.js';
import { SecurityEventOutbox } from '../../src/modules/audit/security-events/security-event-outbox.js';
import {
  RESERVED_SECURITY_EVENT_TYPES,
  SECURITY_EVENT_TYPES,
} from '../../src/modules/audit/security-events/security-event-types.js';
import { signedIn, signedInAdmin } from '../factories/auth.js';
import { LOCAL_POSTGRES } from '../setup/services.js';
import { startTestApp, TestDatabase, type TestApp } from '../setup/test-app.js';
import { Receiver } from './alert-webhook-receiver.js';

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const NEW_PASSWORD = 'Brand-New-Orbit-9931!';

async function undelivered(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM security_event_outbox WHERE delivered_at IS NULL`,
    );
    return rows[0]?.n ?? 0;
  } finally {
    await client.end();
  }
}

/** The delivery is marked just after the receiver answered: resolves once nothing is left, fails after `ms`. */
async function untilAllDelivered(url: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while ((await undelivered(url)) > 0) {
    if (Date.now() > deadline) throw new Error(`${await undelivered(url)} events still undelivered`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Security events to ALERT_WEBHOOK_URL as a receiver sees them: Standard Webhooks
 * deliveries verified with the `standardwebhooks` package, retried from the outbox in
 * Postgres until answered, never twice under one id once delivered.
 */
describe('security events (Standard Webhooks)', () => {
  describe('the catalogue, signed', () => {
    let receiver: Receiver;
    let t: TestApp;
    beforeAll(async () => {
      receiver = await Receiver.start();
      t = await startTestApp({ ...receiver.env });
    });
    afterAll(async () => {
      await t?.close();
      await receiver?.close();
    });

    it('should send the events of the catalogue that exist today, each signed so the standard verifier accepts it', async () => {
      const { user, tokens } = await signedIn(t.http);
      const admin = await signedInAdmin(t);
      const key = await t.http
        .post('/api/v1/api-keys')
        .set(bearer(tokens.access_token))
        .send({ name: 'ci', scopes: ['resources:read'] })
        .expect(201);
      await t.http
        .delete(`/api/v1/api-keys/${key.body.id as string}`)
        .set(bearer(tokens.access_token))
        .expect(204);
      const pat = await t.http
        .post('/api/v1/auth/tokens')
        .set(bearer(tokens.access_token))
        .send({ name: 'laptop' })
        .expect(201);
      await t.http
        .patch(`/api/v1/users/${user.id}`)
        .set(bearer(admin.tokens.access_token))
        .send({ roles: ['user', 'staff'] })
        .expect(200);
      await t.http.post('/api/v1/auth/refresh').send({ refresh_token: tokens.refresh_token }).expect(200);
      await t.http.post('/api/v1/auth/refresh').send({ refresh_token: tokens.refresh_token }).expect(401);
      const fresh = await signedIn(t.http);
      await t.http
        .post('/api/v1/auth/password')
        .set(bearer(fresh.tokens.access_token))
        .send({ currentPassword: fresh.user.password, newPassword: NEW_PASSWORD })
        .expect(204);
      const leaving = await signedIn(t.http);
      await t.http.post('/api/v1/auth/sign-out-everywhere').set(bearer(leaving.tokens.access_token)).expect(204);

      const expected = [
        SECURITY_EVENT_TYPES.credentialCreated,
        SECURITY_EVENT_TYPES.credentialRevoked,
        SECURITY_EVENT_TYPES.rolesChanged,
        SECURITY_EVENT_TYPES.refreshTokenReused,
        SECURITY_EVENT_TYPES.passwordChanged,
        SECURITY_EVENT_TYPES.signedOutEverywhere,
        SECURITY_EVENT_TYPES.alert,
      ];
      await receiver.until(
        () =>
          expected.every((type) => receiver.ofType(type).length > 0) &&
          receiver.ofType('credential.created').length >= 2,
        `one of each of ${expected.join(', ')}`,
      );
      expect(receiver.forged).toEqual([]);
      const created = receiver.ofType(SECURITY_EVENT_TYPES.credentialCreated).map((delivery) => delivery.data);
      expect(created).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ kind: 'api-key', credentialId: key.body.id, userId: user.id }),
          expect.objectContaining({ kind: 'personal-token', credentialId: pat.body.id, userId: user.id }),
        ]),
      );
      expect(receiver.ofType(SECURITY_EVENT_TYPES.credentialRevoked)[0]?.data).toMatchObject({
        kind: 'api-key',
        credentialId: key.body.id,
      });
      expect(receiver.ofType(SECURITY_EVENT_TYPES.rolesChanged)[0]?.data).toMatchObject({
        userId: user.id,
        actorId: admin.user.id,
      });
      expect(receiver.ofType(SECURITY_EVENT_TYPES.passwordChanged)[0]?.data).toMatchObject({ userId: fresh.user.id });
      expect(receiver.ofType(SECURITY_EVENT_TYPES.signedOutEverywhere)[0]?.data).toMatchObject({
        userId: leaving.user.id,
        actorId: leaving.user.id,
      });
      // Reserved types are catalogued, not sent.
      for (const type of RESERVED_SECURITY_EVENT_TYPES) expect(receiver.ofType(type)).toEqual([]);
      // No secret in any event: not the key, the personal token, the refresh token, the password.
      const sent = JSON.stringify(receiver.deliveries);
      for (const secret of [key.body.key, pat.body.token, tokens.refresh_token, NEW_PASSWORD]) {
        expect(sent).not.toContain(secret as string);
      }
    });

    it('should send a delivery answered 500 again under the same id, and never again once answered 2xx', async () => {
      const before = receiver.deliveries.length;
      receiver.script = [500];
      await t.app.get(SecurityEventOutbox).publish(SECURITY_EVENT_TYPES.alert, { detector: 'probe', subject: 'retry' });
      await receiver.until(() => receiver.deliveries.length >= before + 2, 'a delivery and its retry');
      const [first, retry] = receiver.deliveries.slice(before);
      expect(first?.answered).toBe(500);
      expect(retry).toMatchObject({ id: first?.id, answered: 200, data: first?.data });
      // Longer than the first two retries of the schedule (500 ms, 2 s): no third attempt.
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      const ids = receiver.deliveries.filter((delivery) => delivery.answered === 200).map((delivery) => delivery.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(receiver.deliveries.filter((delivery) => delivery.id === first?.id)).toHaveLength(2);
      expect(receiver.forged).toEqual([]);
    });
  });

  describe('the outbox on Postgres', () => {
    const adminUrl = process.env.DATABASE_URL || LOCAL_POSTGRES;
    let database: TestDatabase;
    let receiver: Receiver;
    const apps: TestApp[] = [];
    const start = async () => {
      const app = await startTestApp({ ...receiver.env }, { database });
      apps.push(app);
      return app;
    };
    beforeAll(async () => {
      database = (await TestDatabase.create(adminUrl)).retain();
      receiver = await Receiver.start();
    });
    afterAll(async () => {
      await Promise.all(apps.map((app) => app.close()));
      await receiver?.close();
      await database?.release();
    });

    it('should keep undelivered events through a restart and deliver them after it', async () => {
      receiver.script = Array.from({ length: 50 }, () => 503);
      const first = await start();
      for (let i = 0; i < 3; i++) {
        await first.app
          .get(SecurityEventOutbox)
          .publish(SECURITY_EVENT_TYPES.alert, { detector: 'outage', subject: `${i}` });
      }
      await receiver.until(() => receiver.deliveries.length >= 3, 'the first attempts');
      await first.close();
      expect(await undelivered(database.url)).toBe(3);

      receiver.script = [];
      const delivered = () => receiver.deliveries.filter((delivery) => delivery.answered === 200);
      await start();
      await receiver.until(() => delivered().length >= 3, 'the events stored before the restart');
      expect(
        delivered()
          .map((delivery) => delivery.data.subject)
          .sort(),
      ).toEqual(['0', '1', '2']);
      await untilAllDelivered(database.url);
      expect(receiver.forged).toEqual([]);
    });

    it('should deliver each event once when two instances work the same outbox', async () => {
      const [a, b] = [apps.at(-1) as TestApp, await start()];
      const before = receiver.deliveries.length;
      await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          (i % 2 ? a : b).app.get(SecurityEventOutbox).publish(SECURITY_EVENT_TYPES.alert, {
            detector: 'two-instances',
            subject: `${i}`,
          }),
        ),
      );
      await receiver.until(() => receiver.deliveries.length >= before + 40, '40 deliveries');
      // Past one poll of each instance (5 s): a second copy would have come.
      await new Promise((resolve) => setTimeout(resolve, 5_500));
      const mine = receiver.deliveries.slice(before);
      expect(mine).toHaveLength(40);
      expect(new Set(mine.map((delivery) => delivery.id)).size).toBe(40);
      await untilAllDelivered(database.url);
    });
  });

  describe('delivery rules', () => {
    let receiver: Receiver;
    let t: TestApp;
    beforeAll(async () => {
      receiver = await Receiver.start();
      const url = new URL(receiver.url);
      url.username = 'hook';
      url.password = 'pass word';
      t = await startTestApp({ ...receiver.env, ALERT_WEBHOOK_URL: url.href });
    });
    afterAll(async () => {
      await t?.close();
      await receiver?.close();
    });

    // Through the logger itself: nestjs-pino keeps one root logger per process, so the lines
    // of this file's later apps land in the first app's destination.
    const outboxLogger = () => t.app.get<PinoLogger>(getLoggerToken(SecurityEventOutbox.name));

    it('should send the URL user info as Basic auth and name the webhook by its origin only in the log', async () => {
      const warn = vi.spyOn(outboxLogger(), 'warn');
      receiver.script = [503];
      await t.app.get(SecurityEventOutbox).publish(SECURITY_EVENT_TYPES.alert, { detector: 'probe', subject: 'auth' });
      await receiver.until(() => receiver.deliveries.some((delivery) => delivery.answered === 200), 'a delivery');
      const expected = `Basic ${Buffer.from('hook:pass word').toString('base64')}`;
      expect(receiver.deliveries.map((delivery) => delivery.authorization)).toEqual([expected, expected]);
      const failed = warn.mock.calls.filter(([, message]) => message === 'security event delivery failed; will retry');
      expect(failed).toHaveLength(1);
      expect(failed[0]?.[0]).toMatchObject({ webhook: new URL(receiver.url).origin, reason: 'HTTP 503' });
      expect(JSON.stringify(failed)).not.toMatch(/hooks\/alerts|pass/);
    });

    it('should not retry an event the receiver refuses with a 4xx other than 408 and 429, and count it failed', async () => {
      const error = vi.spyOn(outboxLogger(), 'error');
      const before = receiver.deliveries.length;
      receiver.script = [400];
      await t.app
        .get(SecurityEventOutbox)
        .publish(SECURITY_EVENT_TYPES.alert, { detector: 'probe', subject: 'refused' });
      await receiver.until(() => receiver.deliveries.length > before, 'the delivery');
      // Past the first retry (500 ms): none comes.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(receiver.deliveries.slice(before).map((delivery) => delivery.answered)).toEqual([400]);
      const metric = await t.app
        .get(MetricsRegistry)
        .registry.getSingleMetricAsString('security_event_deliveries_total');
      expect(metric).toMatch(/security_event_deliveries_total\{result="failed"\} 1/);
      expect(error.mock.calls.map(([, message]) => message)).toContain(
        'security event refused by the webhook: not retried',
      );
    });
  });
});
