import type { Response } from 'supertest';
import type TestAgent from 'supertest/lib/agent.js';
import { expect } from 'vitest';

export interface SetCookie {
  /** The value as sent in Set-Cookie, ready to send back in a Cookie header. */
  value: string;
  /** The attributes as written, e.g. `['HttpOnly', 'SameSite=Lax', 'Path=/']`. */
  attributes: string[];
}

/** Every cookie a response sets, by name (supertest keeps no cookie jar of its own). */
export function sessionCookies(res: Response): Map<string, SetCookie> {
  const header = res.headers['set-cookie'] as string[] | string | undefined;
  const lines = header === undefined ? [] : Array.isArray(header) ? header : [header];
  const cookies = new Map<string, SetCookie>();
  for (const line of lines) {
    const [pair = '', ...attributes] = line.split(';').map((part) => part.trim());
    const eq = pair.indexOf('=');
    cookies.set(pair.slice(0, eq), { value: pair.slice(eq + 1), attributes });
  }
  return cookies;
}

/** A `Cookie` request header from name/value pairs. */
export function cookieHeader(cookies: Record<string, string>): string {
  return Object.entries(cookies)
    .map(([name, value]) => `${name}=${value}`)
    .join('; ');
}

export interface BrowserSession {
  sid: string;
  /** The CSRF double-submit cookie, bound to this session. */
  csrfCookie: string;
  /** The X-CSRF-Token response header: what a browser client sends back on unsafe requests. */
  csrfToken: string;
  /** The `Cookie` header a browser would send: `sid` and the CSRF cookie. */
  cookie: string;
}

/** Signs in through POST /api/v1/auth/session, like a browser client (`headers`: e.g. the cookies it already holds). */
export async function startSession(
  http: TestAgent,
  user: { email: string; password: string },
  headers: Record<string, string> = {},
): Promise<BrowserSession> {
  const res = await http.post('/api/v1/auth/session').set(headers).send({ email: user.email, password: user.password });
  expect(res.status).toBe(204);
  const cookies = sessionCookies(res);
  const sid = cookies.get('sid')?.value;
  const csrfCookie = cookies.get('csrf')?.value;
  const csrfToken = res.headers['x-csrf-token'] as string | undefined;
  expect(sid).toBeTruthy();
  expect(csrfCookie).toBeTruthy();
  expect(csrfToken).toBeTruthy();
  return {
    sid: sid as string,
    csrfCookie: csrfCookie as string,
    csrfToken: csrfToken as string,
    cookie: cookieHeader({ sid: sid as string, csrf: csrfCookie as string }),
  };
}
