import type { Response } from 'supertest';
import { expect } from 'vitest';
import { expectProblem } from './problem-details.js';

/** A header that must be a whole number of at least `min`. */
function integerHeader(res: Response, name: string, min: number): number {
  const raw = res.headers[name.toLowerCase()] as string | undefined;
  expect(raw, `${name} header`).toMatch(/^\d+$/);
  const value = Number(raw);
  expect(value, `${name} header`).toBeGreaterThanOrEqual(min);
  return value;
}

export interface ExpectedLimit {
  /** The RateLimit-Limit the response must report. */
  limit: number;
  /** The RateLimit-Remaining it must report; unchecked when undefined. */
  remaining?: number;
  /** The window of the limit, in seconds: RateLimit-Reset is within it. */
  windowSeconds?: number;
}

/**
 * Asserts the IETF RateLimit headers a limited response carries, and returns what they
 * say. RateLimit-Reset is seconds until the window ends: never negative, never past it.
 */
export function expectRateLimitHeaders(res: Response, expected: ExpectedLimit): { remaining: number; reset: number } {
  const windowSeconds = expected.windowSeconds ?? 60;
  expect(integerHeader(res, 'RateLimit-Limit', 1)).toBe(expected.limit);
  const remaining = integerHeader(res, 'RateLimit-Remaining', 0);
  if (expected.remaining !== undefined) expect(remaining).toBe(expected.remaining);
  expect(remaining).toBeLessThanOrEqual(expected.limit);
  const reset = integerHeader(res, 'RateLimit-Reset', 0);
  expect(reset).toBeLessThanOrEqual(windowSeconds);
  return { remaining, reset };
}

/** Asserts a 200 within the limit, with its RateLimit headers. */
export function expectAllowed(res: Response, expected: ExpectedLimit): void {
  expect(res.status, res.text).toBe(200);
  expectRateLimitHeaders(res, expected);
}

/**
 * Asserts a 429 for the named limit: problem+json, a positive whole Retry-After no later
 * than the window's end, the RateLimit headers at zero remaining and the RateLimit-Policy
 * of the limit that was exceeded.
 */
export function expectThrottled(res: Response, expected: ExpectedLimit & { name: string }): void {
  expectProblem(res, 429);
  const windowSeconds = expected.windowSeconds ?? 60;
  const retryAfter = integerHeader(res, 'Retry-After', 1);
  expect(retryAfter).toBeLessThanOrEqual(windowSeconds);
  expectRateLimitHeaders(res, { ...expected, remaining: 0, windowSeconds });
  expect(res.headers['ratelimit-policy']).toBe(`${expected.limit};w=${windowSeconds};name="${expected.name}"`);
}
