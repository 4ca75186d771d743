import { expect } from 'vitest';
import type { Response } from 'supertest';

/** What a stack trace, an internal path, SQL text or a password hash looks like in a response. */
export const LEAKS_INTERNALS = /\bat \S+ \(|node_modules|\/src\/|\.ts:\d+|SELECT |INSERT |QueryFailedError|\$argon2/;

/** Asserts an RFC 9457 body with the API's fields and nothing that leaks internals. */
export function expectProblem(res: Response, status: number): void {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = JSON.parse(res.text) as Record<string, unknown>;
  expect(body).toMatchObject({ status, type: expect.any(String), title: expect.any(String) });
  expect(body.requestId).toBe(res.headers['x-request-id']);
  expect(body.instance).toEqual(expect.stringMatching(/^\//));
  expect(res.text).not.toMatch(LEAKS_INTERNALS);
}
