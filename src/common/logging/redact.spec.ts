import { describe, expect, it } from 'vitest';
import { REDACTED, redactSecrets, redactUrl } from './redact.js';

describe(redactSecrets.name, () => {
  it('should replace secret-named fields at any depth and keep the rest', () => {
    const input = {
      user: { email: 'a@b.c', password: 'p', nested: [{ refresh_token: 't', apiKey: 'k' }] },
      headers: { authorization: 'Bearer x', cookie: 'sid=1', 'x-api-key': 'k' },
      passwordHash: '$argon2id$...',
      count: 3,
    };
    expect(redactSecrets(input)).toEqual({
      user: { email: 'a@b.c', password: REDACTED, nested: [{ refresh_token: REDACTED, apiKey: REDACTED }] },
      headers: { authorization: REDACTED, cookie: REDACTED, 'x-api-key': REDACTED },
      passwordHash: REDACTED,
      count: 3,
    });
  });

  it('should leave class instances to their serializers', () => {
    const error = new Error('boom');
    expect(redactSecrets({ err: error })).toEqual({ err: error });
  });
});

describe(redactUrl.name, () => {
  it('should hide the values of secret-named query parameters', () => {
    expect(redactUrl('/x?token=abc&page=2')).toBe(`/x?token=${encodeURIComponent(REDACTED)}&page=2`);
    expect(redactUrl('/plain')).toBe('/plain');
  });
});
