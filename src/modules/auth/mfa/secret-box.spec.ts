import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../config/app-config.js';
import { SecretBox } from './secret-box.js';

const box = (key: string) => new SecretBox(loadConfig({ DATA_DIR: ':memory:', MFA_ENCRYPTION_KEY: key }));
const OWNER = '6f1c1f1e-4c59-4f37-9b7e-0d1c7c9e2a11';

describe(SecretBox.name, () => {
  const secret = Buffer.from('12345678901234567890');

  it('should open what it sealed, for the same owner, and never store the secret in the clear', () => {
    const sealed = box('k'.repeat(32)).seal(secret, OWNER);
    expect(sealed.includes(secret)).toBe(false);
    expect(box('k'.repeat(32)).open(sealed, OWNER)).toEqual(secret);
  });

  it('should not open with another key, for another owner, or after tampering', () => {
    const sealed = box('k'.repeat(32)).seal(secret, OWNER);
    expect(() => box('j'.repeat(32)).open(sealed, OWNER)).toThrow();
    expect(() => box('k'.repeat(32)).open(sealed, '00000000-0000-4000-8000-000000000000')).toThrow();
    const tampered = Buffer.from(sealed);
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] ?? 0) ^ 1;
    expect(() => box('k'.repeat(32)).open(tampered, OWNER)).toThrow();
  });

  it('should seal the same secret differently each time (a fresh IV)', () => {
    const b = box('k'.repeat(32));
    expect(b.seal(secret, OWNER).equals(b.seal(secret, OWNER))).toBe(false);
  });

  it('should refuse to start in production without MFA_ENCRYPTION_KEY', () => {
    expect(() =>
      loadConfig({
        NODE_ENV: 'production',
        DATABASE_URL: 'postgres://db/app',
        PUBLIC_URL: 'https://api.example.com',
        JWT_KEYS: '{"keys":[]}',
        CSRF_SECRET: 'c'.repeat(32),
        API_KEY_PEPPER: 'p'.repeat(32),
        OAUTH_COOKIE_KEYS: 'k'.repeat(32),
      }),
    ).toThrow(/MFA_ENCRYPTION_KEY: required in production/);
  });
});
