import { performance } from 'node:perf_hooks';
import type { Response } from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outboxDrained, signUpVerified } from '../factories/mail.js';
import { newRegistration } from '../factories/users.js';
import { TestSmtpServer } from '../setup/smtp-server.js';
import { startTestApp, type TestApp } from '../setup/test-app.js';

/** Pairs of tries (one per kind of email each) measured at least, and at most while the answer is unclear. */
const MIN_PAIRS = 30;
const MAX_PAIRS = 120;
/** The most the median times of the two kinds may differ, as a share of the median time. */
const TOLERANCE = 0.1;
/** Headers that differ between any two requests, whatever their email. */
const PER_REQUEST = new Set(['date', 'x-request-id', 'ratelimit-remaining', 'ratelimit-reset']);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** Standard error of a sample's median, from its interquartile range (robust to the outliers of a busy machine). */
function medianStandardError(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const quartile = (q: number) => sorted[Math.floor(q * (sorted.length - 1))] as number;
  return (1.2533 * ((quartile(0.75) - quartile(0.25)) / 1.349)) / Math.sqrt(values.length);
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
   * Sends `send(known)` and `send(unknown)` as a pair, in alternating order, each once the
   * outbox is idle (the mail of the previous one is the worker's work, not the request's),
   * and compares what came back and the times. The time test is on the pairs: the median
   * of (known - unknown) must be under TOLERANCE of the median request time. Load from the
   * rest of the machine hits both members of a pair alike and cancels there. At least
   * MIN_PAIRS are measured, and more (up to MAX_PAIRS) while the median difference is not
   * clearly (two standard errors) on one side of the tolerance: on a busy machine the
   * repetitions grow until the answer is plain, and a real difference still fails.
   */
  async function compare(send: (kind: 'known' | 'unknown') => Promise<Response>): Promise<void> {
    const differences: number[] = [];
    const all: number[] = [];
    const answers: ReturnType<typeof comparable>[] = [];
    for (let i = 0; ; i++) {
      const pair = { known: 0, unknown: 0 };
      for (const kind of i % 2 ? (['known', 'unknown'] as const) : (['unknown', 'known'] as const)) {
        await outboxDrained(t.app);
        const started = performance.now();
        const res = await send(kind);
        pair[kind] = performance.now() - started;
        answers.push(comparable(res));
      }
      // The first rounds warm up caches and connections; they are not measured.
      if (i < 3) continue;
      differences.push(pair.known - pair.unknown);
      all.push(pair.known, pair.unknown);
      if (differences.length < MIN_PAIRS) continue;
      const margin = 2 * medianStandardError(differences);
      const bound = TOLERANCE * median(all);
      const clear = Math.abs(median(differences)) + margin < bound || Math.abs(median(differences)) - margin > bound;
      if (clear || differences.length >= MAX_PAIRS) break;
    }
    expect(answers[0]?.status).toBe(202);
    for (const answer of answers) expect(answer).toEqual(answers[0]);
    expect(Math.abs(median(differences)) / median(all)).toBeLessThan(TOLERANCE);
  }

  it(
    'should answer register the same, in the same time, for a taken and a new email',
    { timeout: 600_000 },
    async () => {
      const owner = await signUpVerified(t.http, smtp);
      await compare((kind) =>
        t.http
          .post('/api/v1/auth/register')
          .send(kind === 'known' ? { ...newRegistration(), email: owner.email } : newRegistration()),
      );
      expect(smtp.to(owner.email, /Someone tried to sign up/).length).toBeGreaterThanOrEqual(MIN_PAIRS);
    },
  );

  it(
    'should answer forgot-password the same, in the same time, for a known and an unknown email',
    { timeout: 600_000 },
    async () => {
      const user = await signUpVerified(t.http, smtp);
      await compare((kind) =>
        t.http
          .post('/api/v1/auth/password/forgot')
          .send({ email: kind === 'known' ? user.email : newRegistration().email }),
      );
      expect(smtp.to(user.email, /Reset your password/).length).toBeGreaterThanOrEqual(MIN_PAIRS);
    },
  );

  it(
    'should answer resend the same, in the same time, for an unverified account and an unknown email',
    { timeout: 600_000 },
    async () => {
      const pending = newRegistration();
      await t.http.post('/api/v1/auth/register').send(pending).expect(202);
      await compare((kind) =>
        t.http
          .post('/api/v1/auth/email/resend')
          .send({ email: kind === 'known' ? pending.email : newRegistration().email }),
      );
      expect(smtp.to(pending.email, /Confirm your email/).length).toBeGreaterThanOrEqual(MIN_PAIRS);
    },
  );
});
