import type { Request } from 'express';
import { describe, expect, it } from 'vitest';
import type { PresentedCredential } from './credentials.js';
import { RefusedCredentials } from './refused-credentials.js';

const jwt: PresentedCredential = { kind: 'jwt', challengeScheme: 'Bearer' };
const session: PresentedCredential = { kind: 'session', challengeScheme: 'Session' };
const from = (ip: string, authorization: string) => ({ ip, headers: { authorization } }) as unknown as Request;

describe(RefusedCredentials.name, () => {
  it('should refuse again, from the same address only, a credential refused within its time, and forget it after', () => {
    const refused = new RefusedCredentials(10, 1_000);
    refused.remember(jwt, from('203.0.113.7', 'Bearer bad'), 0);
    expect(refused.isRefused(jwt, from('203.0.113.7', 'Bearer bad'), 500)).toBe(true);
    expect(refused.isRefused(jwt, from('198.51.100.9', 'Bearer bad'), 500)).toBe(false);
    expect(refused.isRefused(jwt, from('203.0.113.7', 'Bearer other'), 500)).toBe(false);
    expect(refused.isRefused(jwt, from('203.0.113.7', 'Bearer bad'), 1_001)).toBe(false);
  });

  it('should forget the oldest refusals past its capacity, and never keep a session', () => {
    const refused = new RefusedCredentials(2, 60_000);
    for (const token of ['a', 'b', 'c']) refused.remember(jwt, from('203.0.113.7', `Bearer ${token}`), 0);
    expect(refused.isRefused(jwt, from('203.0.113.7', 'Bearer a'), 1)).toBe(false);
    expect(refused.isRefused(jwt, from('203.0.113.7', 'Bearer c'), 1)).toBe(true);
    refused.remember(session, from('203.0.113.7', 'Bearer s'), 0);
    expect(refused.isRefused(session, from('203.0.113.7', 'Bearer s'), 1)).toBe(false);
  });

  it("should read and hash a request's credential once, though it is looked up and then remembered", () => {
    const refused = new RefusedCredentials(10, 1_000);
    refused.remember(jwt, from('203.0.113.7', 'Bearer bad'), 0);
    let reads = 0;
    const request = {
      ip: '203.0.113.7',
      headers: {
        get authorization() {
          reads += 1;
          return 'Bearer bad';
        },
      },
    } as unknown as Request;
    expect(refused.isRefused(jwt, request, 10)).toBe(true);
    refused.remember(jwt, request, 10);
    expect(reads).toBe(1);
    expect(refused.isRefused(jwt, from('203.0.113.7', 'Bearer bad'), 1_005)).toBe(true);
  });

  it('should decide by the credential whether a refusal is kept, not by what the request was first asked about', () => {
    const refused = new RefusedCredentials(10, 1_000);
    const request = from('203.0.113.7', 'Bearer bad');
    refused.remember(session, request, 0);
    refused.remember(jwt, request, 0);
    expect(refused.isRefused(jwt, from('203.0.113.7', 'Bearer bad'), 1)).toBe(true);
  });

  it('should keep a renewed refusal for its whole time while older ones expire around it', () => {
    const refused = new RefusedCredentials(10, 1_000);
    refused.remember(jwt, from('203.0.113.7', 'Bearer old'), 0);
    refused.remember(jwt, from('203.0.113.7', 'Bearer renewed'), 100);
    refused.remember(jwt, from('203.0.113.7', 'Bearer renewed'), 900);
    expect(refused.isRefused(jwt, from('203.0.113.7', 'Bearer old'), 1_500)).toBe(false);
    expect(refused.isRefused(jwt, from('203.0.113.7', 'Bearer renewed'), 1_500)).toBe(true);
  });
});
