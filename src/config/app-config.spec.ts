import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './app-config.js';

/** Everything production requires but PUBLIC_URL, each secret at the 32 characters it must reach. */
const PRODUCTION = {
  NODE_ENV: 'production',
  DATABASE_URL: 'postgres://db/app',
  JWT_KEYS: '{"keys":[]}',
  CSRF_SECRET: 'c'.repeat(32),
  API_KEY_PEPPER: 'p'.repeat(32),
  OAUTH_COOKIE_KEYS: 'k'.repeat(32),
  SMTP_URL: 'smtp://mail.example.com:587',
  MFA_ENCRYPTION_KEY: 'm'.repeat(32),
};

describe(loadConfig.name, () => {
  it('should keep a user cut-off as long as the longest-lived token or grant it must end', () => {
    for (const [jwt, access, refresh] of [
      ['5m', '1h', '1d'],
      ['2h', '5m', '10m'],
      ['5m', '30m', '5m'],
    ] as const) {
      const { auth } = loadConfig({ JWT_ACCESS_TTL: jwt, OAUTH_ACCESS_TTL: access, OAUTH_REFRESH_TTL: refresh });
      const seconds = (v: string) => Number(v.slice(0, -1)) * { m: 60, h: 3600, d: 86_400 }[v.slice(-1) as 'm'];
      expect(auth.revocationHorizonSeconds).toBe(Math.max(seconds(jwt), seconds(access), seconds(refresh)));
    }
  });

  it('should give development defaults when nothing is set', () => {
    const config = loadConfig({});
    expect(config.app).toMatchObject({ env: 'development', port: 3000, publicUrl: 'http://localhost:3000' });
    expect(config.db.url).toBeUndefined();
    expect(config.http).toEqual({ trustProxy: false, corsOrigins: [], bodyLimit: 100_000 });
  });

  it('should run several workers only as instances that share a database, Redis and their secrets', () => {
    const shared = {
      WEB_CONCURRENCY: '2',
      DATABASE_URL: 'postgres://app@db/app',
      REDIS_URL: 'redis://cache:6379',
      DATA_DIR: '.data',
    };
    expect(loadConfig(shared).app.workers).toBe(2);
    expect(loadConfig({}).app.workers).toBe(1);
    expect(() => loadConfig({ ...shared, DATABASE_URL: undefined })).toThrow(/WEB_CONCURRENCY: .*DATABASE_URL/);
    expect(() => loadConfig({ ...shared, REDIS_URL: undefined })).toThrow(/WEB_CONCURRENCY: .*REDIS_URL/);
    // In memory, every worker would generate its own keys and refuse the others' tokens.
    expect(() => loadConfig({ ...shared, DATA_DIR: ':memory:' })).toThrow(
      /WEB_CONCURRENCY: .*JWT_KEYS, CSRF_SECRET, MFA_ENCRYPTION_KEY, API_KEY_PEPPER, OAUTH_COOKIE_KEYS/,
    );
    expect(() => loadConfig({ ...shared, WEB_CONCURRENCY: '0' })).toThrow(/WEB_CONCURRENCY/);
  });

  it('should name every bad variable', () => {
    try {
      loadConfig({ PORT: 'eighty', DATABASE_URL: 'mysql://x', LOG_LEVEL: 'loud' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const message = (error as ConfigError).message;
      for (const name of ['PORT', 'DATABASE_URL', 'LOG_LEVEL']) expect(message).toContain(name);
    }
  });

  it('should refuse the embedded database, "*" CORS and a missing PUBLIC_URL in production', () => {
    expect(() => loadConfig({ NODE_ENV: 'production', CORS_ORIGINS: '*' })).toThrow(
      /DATABASE_URL[\s\S]*CORS_ORIGINS[\s\S]*PUBLIC_URL/,
    );
  });

  // docs/threat-model.md (API8) and the README's Configuration: production refuses each
  // development convenience on its own, by name, and takes no secret shorter than 32 characters.
  it('should refuse each development convenience in production alone, naming it', () => {
    const production = { ...PRODUCTION, PUBLIC_URL: 'https://api.example.com' };
    expect(loadConfig(production).app.isProduction).toBe(true);
    const problemsOf = (change: Record<string, string | undefined>): string[] => {
      try {
        loadConfig({ ...production, ...change });
      } catch (error) {
        if (error instanceof ConfigError) return error.problems;
        throw error;
      }
      return [];
    };
    const refusals: [Record<string, string | undefined>, string][] = [
      [{ DATABASE_URL: undefined }, 'DATABASE_URL: required in production'],
      [{ JWT_KEYS: undefined }, 'JWT_KEYS or JWT_KEYS_FILE: required in production'],
      [{ CSRF_SECRET: undefined }, 'CSRF_SECRET: required in production'],
      [{ API_KEY_PEPPER: undefined }, 'API_KEY_PEPPER: required in production'],
      [{ MFA_ENCRYPTION_KEY: undefined }, 'MFA_ENCRYPTION_KEY: required in production'],
      [{ OAUTH_COOKIE_KEYS: undefined }, 'OAUTH_COOKIE_KEYS: required in production'],
      [{ SMTP_URL: undefined }, 'SMTP_URL: required in production'],
      [{ CORS_ORIGINS: '*' }, 'CORS_ORIGINS: "*" is not allowed in production'],
      [{ TRUST_PROXY: 'true' }, 'TRUST_PROXY: "true" trusts any client'],
      [{ RATE_LIMITS_ENABLED: 'false' }, 'RATE_LIMITS_ENABLED: "false" is not allowed in production'],
      [{ ENABLE_BENCH_ROUTES: 'true' }, 'ENABLE_BENCH_ROUTES: not allowed in production'],
    ];
    for (const [change, named] of refusals) {
      const problems = problemsOf(change);
      expect(problems, JSON.stringify(change)).toHaveLength(1);
      expect(problems[0], JSON.stringify(change)).toContain(named);
    }
    for (const name of ['CSRF_SECRET', 'API_KEY_PEPPER', 'MFA_ENCRYPTION_KEY', 'OAUTH_COOKIE_KEYS', 'METRICS_TOKEN']) {
      expect(problemsOf({ [name]: 's'.repeat(31) }), name).toEqual([expect.stringMatching(new RegExp(`^${name}: `))]);
      expect(problemsOf({ [name]: 's'.repeat(32) }), name).toEqual([]);
    }
  });

  it('should refuse a plain-http PUBLIC_URL in production, except on loopback, and set Secure cookies only on https', () => {
    const production = PRODUCTION;
    expect(() => loadConfig({ ...production, PUBLIC_URL: 'http://api.example.com' })).toThrow(
      /PUBLIC_URL: must be https/,
    );
    expect(loadConfig({ ...production, PUBLIC_URL: 'https://api.example.com' }).auth.secureCookies).toBe(true);
    expect(loadConfig({ ...production, PUBLIC_URL: 'http://localhost:8080' }).auth.secureCookies).toBe(false);
  });

  it('should refuse to run production without SMTP_URL, and a MAIL_FROM that could inject headers', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/SMTP_URL: required in production/);
    expect(() => loadConfig({ MAIL_FROM: 'a@example.com\r\nBcc: victim@example.com' })).toThrow(/MAIL_FROM/);
    expect(() => loadConfig({ MAIL_FROM: 'Evil\nBcc: x@y.z <a@example.com>' })).toThrow(/MAIL_FROM/);
    expect(loadConfig({ MAIL_FROM: 'Example API <no-reply@example.com>' }).mail.from).toBe(
      'Example API <no-reply@example.com>',
    );
    expect(loadConfig({}).mail.verification).toBe('mandatory');
  });

  it('should allow the development conveniences in production only when told explicitly', () => {
    const config = loadConfig({ NODE_ENV: 'production', ALLOW_DEV_DEFAULTS: 'true' });
    expect(config.app.isProduction).toBe(true);
    expect(config.db.url).toBeUndefined();
  });

  it('should read TRUST_PROXY as off, a hop count or a list of proxies', () => {
    expect(loadConfig({ TRUST_PROXY: 'false' }).http.trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: '2' }).http.trustProxy).toBe(2);
    expect(loadConfig({ TRUST_PROXY: '10.0.0.1, loopback' }).http.trustProxy).toEqual(['10.0.0.1', 'loopback']);
  });

  it('should read BODY_LIMIT in SI and binary units', () => {
    expect(loadConfig({ BODY_LIMIT: '100kb' }).http.bodyLimit).toBe(100_000);
    expect(loadConfig({ BODY_LIMIT: '64KiB' }).http.bodyLimit).toBe(65_536);
    expect(() => loadConfig({ BODY_LIMIT: 'lots' })).toThrow(/BODY_LIMIT/);
  });

  it('should keep development state in memory for DATA_DIR=:memory:', () => {
    expect(loadConfig({ DATA_DIR: ':memory:' }).app.dataDir).toBeUndefined();
    expect(loadConfig({ DATA_DIR: 'x' }).app.dataDir).toMatch(/\/x$/);
  });
});
