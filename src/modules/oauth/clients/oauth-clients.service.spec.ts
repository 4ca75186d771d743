import { describe, expect, it } from 'vitest';
import { hashClientSecret } from './oauth-clients.service.js';

describe(hashClientSecret.name, () => {
  it('should store a client secret as the hex SHA-256 of its UTF-8 bytes, as before, so registered clients still authenticate', () => {
    // sha256("client-secret"), computed outside Node.
    expect(hashClientSecret('client-secret')).toBe('fdce8e4a65b70d186bd77cba2e0c580dcf1c6497da9f1b70eed849497e1f8ba2');
  });
});
