import type TestAgent from 'supertest/lib/agent.js';
import { DataSource } from 'typeorm';
import { expect } from 'vitest';
import type { TestSmtpServer } from '../setup/smtp-server.js';
import type { SignedUpUser } from './auth.js';
import { newRegistration } from './users.js';

/** Registers under EMAIL_VERIFICATION=mandatory and proves the email with the code the mail brought. */
export async function signUpVerified(http: TestAgent, smtp: TestSmtpServer): Promise<SignedUpUser> {
  const body = newRegistration();
  const res = await http.post('/api/v1/auth/register').send(body);
  expect(res.status).toBe(202);
  const mail = await smtp.next(body.email, /Confirm your email/);
  await http.post('/api/v1/auth/email/verify').send({ token: mail.code }).expect(204);
  const me = await http.post('/api/v1/auth/login').send({ email: body.email, password: body.password }).expect(200);
  const profile = await http.get('/api/v1/auth/me').set('Authorization', `Bearer ${me.body.access_token}`).expect(200);
  return { ...body, id: profile.body.id as string };
}

/** Resolves once every mail of the outbox was sent or given up on (the worker is idle). */
export async function outboxDrained(app: { get<T>(type: new (...args: never[]) => T): T }): Promise<void> {
  const dataSource = app.get(DataSource);
  const deadline = Date.now() + 15_000;
  for (;;) {
    const [{ pending }] = (await dataSource.query(
      `SELECT count(*)::int AS pending FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL`,
    )) as [{ pending: number }];
    if (pending === 0) return;
    if (Date.now() > deadline) throw new Error(`${pending} mails still in the outbox`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
