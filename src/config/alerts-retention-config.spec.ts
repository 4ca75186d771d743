import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './app-config.js';

const SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;

describe('alerts and retention configuration', () => {
  it('should default to 10 sign-in failures per address or account and 50 denials in 5 minutes, no webhook', () => {
    expect(loadConfig({}).alerts).toEqual({
      windowSeconds: 300,
      loginFailuresPerAddress: 10,
      loginFailuresPerAccount: 10,
      deniedPerAddress: 50,
      webhookUrl: undefined,
      webhookTimeoutMs: 3_000,
    });
  });

  it('should read thresholds, window, webhook and its timeout', () => {
    const config = loadConfig({
      ALERT_WINDOW: '10m',
      ALERT_LOGIN_FAILURES_PER_ADDRESS: '20',
      ALERT_LOGIN_FAILURES_PER_ACCOUNT: '5',
      ALERT_DENIED_PER_ADDRESS: '100',
      ALERT_WEBHOOK_URL: 'https://hooks.example.com/T0/B0/secret',
      ALERT_WEBHOOK_TIMEOUT: '5s',
      ALERT_WEBHOOK_SECRET: SECRET,
    });
    expect(config.alerts).toEqual({
      windowSeconds: 600,
      loginFailuresPerAddress: 20,
      loginFailuresPerAccount: 5,
      deniedPerAddress: 100,
      webhookUrl: 'https://hooks.example.com/T0/B0/secret',
      webhookTimeoutMs: 5_000,
      webhookSecret: SECRET,
    });
  });

  it('should refuse a webhook without its signing secret, and a secret not in the whsec_ form', () => {
    expect(() => loadConfig({ ALERT_WEBHOOK_URL: 'https://hooks.example.com/x' })).toThrow(
      /ALERT_WEBHOOK_SECRET: required with ALERT_WEBHOOK_URL/,
    );
    expect(() =>
      loadConfig({ ALERT_WEBHOOK_URL: 'https://hooks.example.com/x', ALERT_WEBHOOK_SECRET: 'not-a-secret' }),
    ).toThrow(/ALERT_WEBHOOK_SECRET: expected whsec_/);
  });

  it('should refuse DATABASE_MIGRATION_URL without DATABASE_URL', () => {
    expect(() => loadConfig({ DATABASE_MIGRATION_URL: 'postgres://owner@localhost/app' })).toThrow(
      /DATABASE_MIGRATION_URL: needs DATABASE_URL/,
    );
  });

  it('should refuse a webhook that is not http(s), a zero threshold and a zero window or timeout', () => {
    const bad = {
      ALERT_WEBHOOK_URL: 'ftp://hooks.example.com/x',
      ALERT_LOGIN_FAILURES_PER_ADDRESS: '0',
      ALERT_WINDOW: '0',
      ALERT_WEBHOOK_TIMEOUT: '0s',
    };
    try {
      loadConfig(bad);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      for (const name of Object.keys(bad)) expect((error as ConfigError).message).toContain(name);
    }
  });

  it('should purge every hour, keep audit events forever and API-key addresses 90 days by default', () => {
    expect(loadConfig({}).retention).toEqual({
      intervalSeconds: 3600,
      auditSeconds: undefined,
      apiKeyAddressSeconds: 90 * 86_400,
    });
  });

  it('should read AUDIT_RETENTION as a duration and let RETENTION_INTERVAL=0 turn the schedule off', () => {
    expect(loadConfig({ AUDIT_RETENTION: '365d', RETENTION_INTERVAL: '0' }).retention).toEqual({
      intervalSeconds: 0,
      auditSeconds: 365 * 86_400,
      apiKeyAddressSeconds: 90 * 86_400,
    });
  });

  it('should refuse an AUDIT_RETENTION under a day, such as a bare 365 (seconds)', () => {
    expect(() => loadConfig({ AUDIT_RETENTION: '365' })).toThrow(/AUDIT_RETENTION: must be at least 1d/);
  });

  it('should read API_KEY_ADDRESS_RETENTION as a duration and refuse one under 7d, which would forget addresses in use', () => {
    expect(loadConfig({ API_KEY_ADDRESS_RETENTION: '30d' }).retention.apiKeyAddressSeconds).toBe(30 * 86_400);
    expect(() => loadConfig({ API_KEY_ADDRESS_RETENTION: '2d' })).toThrow(
      /API_KEY_ADDRESS_RETENTION: must be at least 7d/,
    );
  });
});
