import { Secret } from 'otpauth';
import type TestAgent from 'supertest/lib/agent.js';
import { expect } from 'vitest';
import { codeAt, TOTP_PERIOD_SECONDS } from '../../src/modules/auth/mfa/totp.js';
import { logIn, signUp, type SignedUpUser, type TokenPair } from './auth.js';

/** A user's TOTP factor as an authenticator app holds it. */
export interface Authenticator {
  secret: Buffer;
  recoveryCodes: string[];
}

/**
 * The code an authenticator app shows `steps` periods from now. A code is accepted once per
 * step and one step of skew either way: a test that needs a second code uses `steps: 1`.
 */
export function totpCode(authenticator: Pick<Authenticator, 'secret'>, steps = 0): string {
  return codeAt(authenticator.secret, Date.now() + steps * TOTP_PERIOD_SECONDS * 1000);
}

/** Enrols and confirms TOTP for the caller (with the code of the current step). */
export async function enrolTotp(http: TestAgent, auth: Record<string, string>): Promise<Authenticator> {
  const begun = await http.post('/api/v1/auth/mfa/totp').set(auth).expect(201);
  const secret = Buffer.from(Secret.fromBase32((begun.body as { secret: string }).secret).bytes);
  const confirmed = await http
    .post('/api/v1/auth/mfa/totp/confirm')
    .set(auth)
    .send({ code: codeAt(secret, Date.now()) })
    .expect(200);
  const recoveryCodes = (confirmed.body as { recoveryCodes: string[] }).recoveryCodes;
  expect(recoveryCodes).toHaveLength(10);
  return { secret, recoveryCodes };
}

/** A fresh user with a confirmed TOTP factor (enrolled from a password-only sign-in). */
export async function userWithTotp(http: TestAgent): Promise<{ user: SignedUpUser; authenticator: Authenticator }> {
  const user = await signUp(http);
  const tokens: TokenPair = await logIn(http, user);
  const authenticator = await enrolTotp(http, { Authorization: `Bearer ${tokens.access_token}` });
  return { user, authenticator };
}

/** POST /login for a user with a second factor: the mfaToken of the 403 mfa-required answer. */
export async function mfaTokenOfLogin(http: TestAgent, user: { email: string; password: string }): Promise<string> {
  const res = await http.post('/api/v1/auth/login').send({ email: user.email, password: user.password }).expect(403);
  expect((res.body as { type: string }).type).toBe('urn:problem:mfa-required');
  return (res.body as { mfaToken: string }).mfaToken;
}
