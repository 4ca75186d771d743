import { randomBytes } from 'node:crypto';
import pg from 'pg';
import request from 'supertest';
import type TestAgent from 'supertest/lib/agent.js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { generateKeySet } from '../../src/modules/auth/jwt/signing-keys.js';
import { newRegistration, strongPassword } from '../factories/users.js';
import { runOnce, ServerProcess } from '../setup/server-process.js';
import { LOCAL_POSTGRES } from '../setup/services.js';
import { TestSmtpServer } from '../setup/smtp-server.js';
import { describeWithSharedServices, TEST_REDIS_URL, TestDatabase } from '../setup/test-app.js';

/** A build, the migration job and two boots, on a busy two-core machine. */
const BOOT_WITHIN_MS = 180_000;
/** Users whose mail waits for SMTP; several, so both instances have some to claim. */
const USERS = 8;
/** The retry after SMTP is back waits for the backoff of the attempts made while it was down. */
const DELIVERED_WITHIN_MS = 60_000;

const secret = () => randomBytes(32).toString('base64url');
const metricsToken = secret();

/** The sum over both instances of one counter of /metrics, with this label text. */
async function counted(instances: TestAgent[], metric: string, labels: string): Promise<number> {
  let total = 0;
  for (const instance of instances) {
    const res = await instance.get('/metrics').set('Authorization', `Bearer ${metricsToken}`).expect(200);
    const line = res.text.split('\n').find((l) => l.startsWith(`${metric}{${labels}}`));
    total += line ? Number(line.split(' ').at(-1)) : 0;
  }
  return total;
}

/**
 * The outbox between two server processes (each its own OS process, on one database) and
 * a real SMTP server that goes down and comes back: requests are answered while it is
 * down, and every mail arrives exactly once when it is back, whichever instance sends it.
 */
describeWithSharedServices('mail outbox: two server processes and an SMTP server that goes down', () => {
  let database: TestDatabase;
  let smtp: TestSmtpServer;
  let db: pg.Client;
  let running: ServerProcess[] = [];
  let instances: TestAgent[];

  beforeAll(async () => {
    smtp = await TestSmtpServer.start();
    database = (await TestDatabase.create(process.env.DATABASE_URL || LOCAL_POSTGRES)).retain();
    const env = {
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      DATA_DIR: ':memory:',
      DATABASE_URL: database.url,
      DB_MIGRATIONS_RUN: 'false',
      REDIS_URL: TEST_REDIS_URL,
      REDIS_KEY_PREFIX: `test:${randomBytes(6).toString('hex')}:`,
      JWT_KEYS: JSON.stringify(await generateKeySet()),
      CSRF_SECRET: secret(),
      API_KEY_PEPPER: secret(),
      OAUTH_COOKIE_KEYS: secret(),
      EMAIL_VERIFICATION: 'mandatory',
      SMTP_URL: smtp.url,
      SHUTDOWN_GRACE: '0',
      // Every request comes from 127.0.0.1.
      RATE_LIMIT_AUTH: '1000/min',
      METRICS_TOKEN: metricsToken,
    };
    await runOnce('dist/db/run-migrations.js', [], { env });
    const started = await Promise.allSettled([
      ServerProcess.start('instance A', env),
      ServerProcess.start('instance B', env),
    ]);
    running = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    for (const result of started) if (result.status === 'rejected') throw result.reason;
    instances = running.map((instance) => request(instance.origin));
    db = new pg.Client({ connectionString: database.url });
    await db.connect();
  }, BOOT_WITHIN_MS);

  afterAll(async () => {
    await db?.end();
    const stopped = await Promise.allSettled(running.map((instance) => instance.stop()));
    await database?.release();
    await smtp?.stop();
    for (const result of stopped) if (result.status === 'rejected') throw result.reason;
  });

  const outbox = async () =>
    (
      await db.query<{ unsent: number; unfailed: number }>(
        `SELECT count(*) FILTER (WHERE sent_at IS NULL)::int AS unsent,
                count(*) FILTER (WHERE sent_at IS NULL AND last_error IS NULL)::int AS unfailed
         FROM mail_outbox`,
      )
    ).rows[0] as { unsent: number; unfailed: number };

  /** Resolves once `done` holds for the outbox (polled: the state lives in another process). */
  async function until(done: (state: { unsent: number; unfailed: number }) => boolean, what: string): Promise<void> {
    const deadline = Date.now() + DELIVERED_WITHIN_MS;
    while (!done(await outbox())) {
      if (Date.now() > deadline) throw new Error(`the outbox never got to: ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  it(
    'should answer 202 while SMTP is down, then deliver each mail once when it is back, from either of two processes',
    { timeout: DELIVERED_WITHIN_MS * 2 },
    async () => {
      await smtp.stop();
      const users = Array.from({ length: USERS }, () => newRegistration());
      for (const [i, user] of users.entries()) {
        const [here, there] = i % 2 ? [instances[0], instances[1]] : [instances[1], instances[0]];
        await here!.post('/api/v1/auth/register').send(user).expect(202);
        await there!.post('/api/v1/auth/password/forgot').send({ email: user.email }).expect(202);
      }
      // Every mail was tried and failed (SMTP refused the connection), none is lost.
      await until((state) => state.unsent === 2 * USERS && state.unfailed === 0, 'every mail tried once');

      await smtp.restart();
      await until((state) => state.unsent === 0, 'every mail sent');
      for (const user of users) {
        expect(smtp.to(user.email, /Confirm your email/)).toHaveLength(1);
        expect(smtp.to(user.email, /Reset your password/)).toHaveLength(1);
      }
      expect(smtp.mails).toHaveLength(2 * USERS);
      expect(await counted(instances, 'mail_sent_total', 'template="password-reset"')).toBe(USERS);
      expect(await counted(instances, 'mail_sent_total', 'template="verify-email"')).toBe(USERS);
      expect(await counted(instances, 'mail_send_errors_total', 'template="intent:password-reset"')).toBeGreaterThan(0);

      // The link that waited for SMTP still works.
      const [first] = users;
      const token = smtp.to(first!.email, /Reset your password/)[0]?.code;
      await instances[1]!
        .post('/api/v1/auth/password/reset')
        .send({ token, newPassword: strongPassword() })
        .expect(204);
    },
  );
});
