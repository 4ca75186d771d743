import type TestAgent from 'supertest/lib/agent.js';
import { expect } from 'vitest';
import { UsersService } from '../../src/modules/users/users.service.js';
import { newRegistration } from './users.js';

export interface SignedUpUser {
  id: string;
  email: string;
  password: string;
  displayName: string;
}

export interface TokenPair {
  access_token: string;
  refresh_token: string;
  token_type: string;
  expires_in: number;
}

/** Registers a fresh user through the API. */
export async function signUp(http: TestAgent): Promise<SignedUpUser> {
  const body = newRegistration();
  const res = await http.post('/api/v1/auth/register').send(body);
  expect(res.status).toBe(201);
  return { ...body, id: res.body.id as string };
}

export async function logIn(http: TestAgent, user: { email: string; password: string }): Promise<TokenPair> {
  const res = await http.post('/api/v1/auth/login').send({ email: user.email, password: user.password });
  expect(res.status).toBe(200);
  return res.body as TokenPair;
}

/** A fresh user and a token pair for them. */
export async function signedIn(http: TestAgent): Promise<{ user: SignedUpUser; tokens: TokenPair }> {
  const user = await signUp(http);
  return { user, tokens: await logIn(http, user) };
}

/** An admin, created the way the CLI creates one, then signed in. */
export async function signedInAdmin(t: {
  http: TestAgent;
  app: { get<T>(type: new (...args: never[]) => T): T };
}): Promise<{ user: SignedUpUser; tokens: TokenPair }> {
  const body = newRegistration();
  const created = await t.app.get(UsersService).createAdmin(body);
  const user = { ...body, id: created.id };
  return { user, tokens: await logIn(t.http, user) };
}
