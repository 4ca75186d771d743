import { performance } from 'node:perf_hooks';
import type { Response } from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outboxDrained, signUpVerified } from '../factories/mail.js';
import { newRegistration } from '../factories/users.js';
import { TestSmtpServer } from '../setup/smtp-server.js';
import { startTestApp, type TestApp } from '../setup/test-app.js';

/** Tries per kind of email, alternating; the medians are compared (more than 30, against the noise of a shared machine). */
const TRIES = 40;
/** Headers that differ between any two requests, whatever their email. */
const PER_REQUEST = new Set(['date', 'x-request-id', 'ratelimit-remaining', 'ratelimit-reset']);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

function comparable(res: Response) {
  const headers = Object.fromEntries(Object.entries(res.headers).filter(([name]) => !PER_REQUEST.has(name)));
  return { status: res.status, headers, body: res.text };
}

/**
 * OWASP Authentication and Forgot Password cheat sheets: what answers for an email must not
 * tell whether it has an account, neither by what it says nor by how long it takes.
 */
describe('Account enumeration through register, forgot-password and resend (EMAIL_VERIFICATION=mandatory)', () => {
  let smtp: TestSmtpServer;
  let t: TestApp;
  beforeAll(async () => {
    smtp = await TestSmtpServer.start();
    // The per-address mail limit would stop the known address's mail after a few tries: here
    // both kinds must do their full work every time.
    t = await startTestApp({ EMAIL_VERIFICATION: 'mandatory', SMTP_URL: smtp.url, RATE_LIMIT_MAIL: '100000/hour' });
  });
  afterAll(async () => {
    await t?.close();
    await smtp?.stop();
  });

  /**
   * Sends `send(known)` and `send(unknown)` alternately, each once the outbox is idle (the
   * mail of the previous one is the worker's work, not the request's), and compares what
   * came back and the median times.
   */
  async function compare(send: (kind: 'known' | 'unknown') => Promise<Response>): Promise<void> {
    const times = { known: [] as number[], unknown: [] as number[] };
    const answers = { known: [] as ReturnType<typeof comparable>[], unknown: [] as ReturnType<typeof comparable>[] };
    for (let i = 0; i < TRIES + 3; i++) {
      for (const kind of i % 2 ? (['known', 'unknown'] as const) : (['unknown', 'known'] as const)) {
        await outboxDrained(t.app);
        const started = performance.now();
        const res = await send(kind);
        const elapsed = performance.now() - started;
        // The first rounds warm up caches and connections; they are not measured.
        if (i < 3) continue;
        times[kind].push(elapsed);
        answers[kind].push(comparable(res));
      }
    }
    expect(answers.known[0]?.status).toBe(202);
    for (const answer of [...answers.known, ...answers.unknown]) expect(answer).toEqual(answers.known[0]);
    const [known, unknown] = [median(times.known), median(times.unknown)];
    expect(Math.abs(known - unknown) / Math.max(known, unknown)).toBeLessThan(0.1);
  }

  it(
    'should answer register the same, in the same time, for a taken and a new email',
    { timeout: 120_000 },
    async () => {
      const owner = await signUpVerified(t.http, smtp);
      await compare((kind) =>
        t.http
          .post('/api/v1/auth/register')
          .send(kind === 'known' ? { ...newRegistration(), email: owner.email } : newRegistration()),
      );
      expect(smtp.to(owner.email, /Someone tried to sign up/).length).toBeGreaterThanOrEqual(TRIES);
    },
  );

  it(
    'should answer forgot-password the same, in the same time, for a known and an unknown email',
    { timeout: 120_000 },
    async () => {
      const user = await signUpVerified(t.http, smtp);
      await compare((kind) =>
        t.http
          .post('/api/v1/auth/password/forgot')
          .send({ email: kind === 'known' ? user.email : newRegistration().email }),
      );
      expect(smtp.to(user.email, /Reset your password/).length).toBeGreaterThanOrEqual(TRIES);
    },
  );

  it(
    'should answer resend the same, in the same time, for an unverified account and an unknown email',
    { timeout: 120_000 },
    async () => {
      const pending = newRegistration();
      await t.http.post('/api/v1/auth/register').send(pending).expect(202);
      await compare((kind) =>
        t.http
          .post('/api/v1/auth/email/resend')
          .send({ email: kind === 'known' ? pending.email : newRegistration().email }),
      );
      expect(smtp.to(pending.email, /Confirm your email/).length).toBeGreaterThanOrEqual(TRIES);
    },
  );
});
