import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, FILE_SECRETS, loadConfig } from './app-config.js';

describe('secrets from <NAME>_FILE', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nsa-secrets-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, content: string) => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };

  it('should read every listed secret from its file, dropping the trailing newline', () => {
    const config = loadConfig({
      DATABASE_URL_FILE: file('database-url', 'postgres://app:s3cret@db:5432/app\n'),
      REDIS_URL_FILE: file('redis-url', 'redis://:pw@redis:6379'),
      CSRF_SECRET_FILE: file('csrf', `${'c'.repeat(40)}\n`),
      API_KEY_PEPPER_FILE: file('pepper', 'p'.repeat(40)),
      OAUTH_COOKIE_KEYS_FILE: file('cookies', `${'k'.repeat(32)},${'o'.repeat(32)}\n`),
      METRICS_TOKEN_FILE: file('metrics', 'm'.repeat(32)),
      ALERT_WEBHOOK_URL_FILE: file('webhook', 'https://hooks.example.com/T0K3N\n'),
      ALERT_WEBHOOK_SECRET_FILE: file('webhook-secret', `whsec_${Buffer.alloc(32, 7).toString('base64')}\n`),
      DATABASE_MIGRATION_URL_FILE: file('migration-url', 'postgres://owner:0wn3r@db:5432/app\n'),
    });
    expect(config.db.url).toBe('postgres://app:s3cret@db:5432/app');
    expect(config.redis.url).toBe('redis://:pw@redis:6379');
    expect(config.auth.csrfSecret).toBe('c'.repeat(40));
    expect(config.apiKeys.pepper).toBe('p'.repeat(40));
    expect(config.oauth.cookieKeys).toEqual(['k'.repeat(32), 'o'.repeat(32)]);
    expect(config.metrics.token).toBe('m'.repeat(32));
    expect(config.alerts.webhookUrl).toBe('https://hooks.example.com/T0K3N');
    expect(config.alerts.webhookSecret).toBe(`whsec_${Buffer.alloc(32, 7).toString('base64')}`);
    expect(config.db.migrationUrl).toBe('postgres://owner:0wn3r@db:5432/app');
    expect(FILE_SECRETS).toHaveLength(9);
  });

  it('should refuse a variable set both ways, and name an unreadable file without its content', () => {
    expect(() => loadConfig({ CSRF_SECRET: 'x'.repeat(40), CSRF_SECRET_FILE: file('csrf2', 'y'.repeat(40)) })).toThrow(
      /CSRF_SECRET_FILE: CSRF_SECRET is set too/,
    );
    const missing = join(dir, 'absent');
    expect(() => loadConfig({ API_KEY_PEPPER_FILE: missing })).toThrow(ConfigError);
    expect(() => loadConfig({ API_KEY_PEPPER_FILE: missing })).toThrow(`cannot read ${missing} (ENOENT)`);
  });

  it('should validate a secret read from a file as if it were set directly', () => {
    expect(() => loadConfig({ API_KEY_PEPPER_FILE: file('short', 'too-short\n') })).toThrow(/API_KEY_PEPPER/);
  });
});

describe('HTTP server timeouts', () => {
  it('should keep idle connections 65 s by default, above nginx and ALB (60 s), with headers longer still', () => {
    expect(loadConfig({}).app).toMatchObject({ keepAliveTimeoutMs: 65_000, headersTimeoutMs: 66_000 });
    expect(loadConfig({ HTTP_KEEP_ALIVE_TIMEOUT: '2m', HTTP_HEADERS_TIMEOUT: '121s' }).app).toMatchObject({
      keepAliveTimeoutMs: 120_000,
      headersTimeoutMs: 121_000,
    });
  });

  it('should refuse a headers timeout that is not above the keep-alive timeout', () => {
    expect(() => loadConfig({ HTTP_KEEP_ALIVE_TIMEOUT: '70s' })).toThrow(/HTTP_HEADERS_TIMEOUT/);
  });
});
