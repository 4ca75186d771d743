import { describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../../common/audit/audit-record.js';
import type { AppConfig } from '../../../config/app-config.js';
import { AlertDetectors, type Detection, type RecordSource } from './alert-detectors.js';

const config: AppConfig['alerts'] = {
  windowSeconds: 300,
  loginFailuresPerAddress: 3,
  loginFailuresPerAccount: 3,
  deniedPerAddress: 3,
  webhookUrl: undefined,
  webhookTimeoutMs: 3_000,
  webhookSecret: undefined,
};

const loginFailure = (email: string): AuditRecord => ({
  action: 'auth.login',
  outcome: 'failure',
  security: true,
  target: email,
  status: 401,
});
const lockout = (email: string): AuditRecord => ({
  action: 'auth.lockout',
  outcome: 'denied',
  security: true,
  target: email,
  status: 429,
});
const denied = (status: number): AuditRecord => ({
  action: 'access.denied',
  outcome: 'denied',
  security: true,
  status,
});
const from = (address: string): RecordSource => ({ address, request: {} });

/** Feeds `observe` one call at a time, in order, and gathers what it raised. */
async function inOrder<T>(items: T[], observe: (item: T, index: number) => Promise<Detection[]>): Promise<Detection[]> {
  const found: Detection[] = [];
  for (const [index, item] of items.entries()) found.push(...(await observe(item, index)));
  return found;
}

describe(AlertDetectors.name, () => {
  describe('failed sign-ins', async () => {
    it('should raise one alert for a burst from one address across many accounts', async () => {
      const detectors = new AlertDetectors(config);
      const found = await inOrder([1, 2, 3, 4, 5], (i) =>
        detectors.observe(loginFailure(`u${i}@x.test`), from('10.0.0.1'), i),
      );
      expect(found).toEqual([{ detector: 'login-failures-per-address', subject: '10.0.0.1', count: 3 }]);
    });

    it('should raise one alert for a burst against one account from many addresses', async () => {
      const detectors = new AlertDetectors(config);
      const found = await inOrder([1, 2, 3, 4, 5], (i) =>
        detectors.observe(loginFailure('victim@x.test'), from(`10.0.0.${i}`), i),
      );
      expect(found).toEqual([{ detector: 'login-failures-per-account', subject: 'victim@x.test', count: 3 }]);
    });

    it('should count attempts refused by lockout as failed sign-ins', async () => {
      const detectors = new AlertDetectors(config);
      const found = [
        ...(await detectors.observe(loginFailure('v@x.test'), from('10.0.0.1'), 1)),
        ...(await detectors.observe(lockout('v@x.test'), from('10.0.0.2'), 2)),
        ...(await detectors.observe(lockout('v@x.test'), from('10.0.0.3'), 3)),
      ];
      expect(found).toEqual([{ detector: 'login-failures-per-account', subject: 'v@x.test', count: 3 }]);
    });

    it('should ignore successful sign-ins', async () => {
      const detectors = new AlertDetectors(config);
      const success: AuditRecord = { action: 'auth.login', outcome: 'success', target: 'u@x.test' };
      const found = await inOrder([1, 2, 3, 4], (i) => detectors.observe(success, from('10.0.0.1'), i));
      expect(found).toEqual([]);
    });
  });

  describe('denied responses', async () => {
    it('should raise one alert for denied 401/403/429 responses to one address', async () => {
      const detectors = new AlertDetectors(config);
      const found = await inOrder([401, 403, 429, 403], (status, i) =>
        detectors.observe(denied(status), from('10.0.0.9'), i),
      );
      expect(found).toEqual([{ detector: 'denied-per-address', subject: '10.0.0.9', count: 3 }]);
    });

    it('should count a response once when it yields several denied records', async () => {
      const detectors = new AlertDetectors(config);
      const source = from('10.0.0.9');
      for (let i = 0; i < 5; i++) expect(await detectors.observe(denied(429), source, i)).toEqual([]);
    });

    it('should ignore failures and other statuses', async () => {
      const detectors = new AlertDetectors(config);
      const notFound: AuditRecord = { action: 'resource.delete', outcome: 'failure', status: 404 };
      const found = await inOrder([1, 2, 3, 4], async (i) => [
        ...(await detectors.observe(notFound, from('10.0.0.9'), i)),
        ...(await detectors.observe(denied(400), from('10.0.0.9'), i)),
      ]);
      expect(found).toEqual([]);
    });
  });

  describe('refresh-token reuse', async () => {
    it('should alert on the first reuse, once per account per window', async () => {
      const detectors = new AlertDetectors(config);
      const reuse: AuditRecord = {
        action: 'auth.refresh.reuse',
        outcome: 'denied',
        actorId: 'user-1',
        target: 'family-1',
        status: 401,
      };
      expect(await detectors.observe(reuse, from('10.0.0.1'), 0)).toEqual(
        expect.arrayContaining([{ detector: 'refresh-token-reuse', subject: 'user-1', count: 1 }]),
      );
      expect(
        (await detectors.observe(reuse, from('10.0.0.1'), 1)).filter((d) => d.detector === 'refresh-token-reuse'),
      ).toEqual([]);
      expect((await detectors.observe(reuse, from('10.0.0.1'), 300_000)).map((d) => d.detector)).toContain(
        'refresh-token-reuse',
      );
    });
  });

  describe('an API key used from a new address', async () => {
    const newAddress = (keyId: string, address: string): AuditRecord => ({
      action: 'api-key.new-address',
      outcome: 'success',
      security: true,
      actorId: 'owner-1',
      credentialId: keyId,
      target: keyId,
      details: { address },
    });

    it('should alert at once, naming the key and the address', async () => {
      const detectors = new AlertDetectors(config);
      expect(await detectors.observe(newAddress('key-1', '10.0.0.7'), from('10.0.0.7'), 0)).toEqual([
        { detector: 'api-key-new-address', subject: 'key-1@10.0.0.7', count: 1 },
      ]);
    });

    it('should alert once per key and address per window', async () => {
      const detectors = new AlertDetectors(config);
      const subjects = async (records: AuditRecord[], at: number) =>
        (await inOrder(records, (record) => detectors.observe(record, from('10.0.0.7'), at))).map((d) => d.subject);
      expect(await subjects([newAddress('key-1', '10.0.0.7'), newAddress('key-1', '10.0.0.7')], 0)).toEqual([
        'key-1@10.0.0.7',
      ]);
      expect(await subjects([newAddress('key-1', '10.0.0.8'), newAddress('key-2', '10.0.0.7')], 1)).toEqual([
        'key-1@10.0.0.8',
        'key-2@10.0.0.7',
      ]);
      expect(await subjects([newAddress('key-1', '10.0.0.7')], 300_000)).toEqual(['key-1@10.0.0.7']);
    });

    it('should ignore other API key records and a record without an address', async () => {
      const detectors = new AlertDetectors(config);
      const use: AuditRecord = { action: 'api-key.use', outcome: 'success', target: 'key-1', details: {} };
      const noAddress: AuditRecord = { ...newAddress('key-1', '10.0.0.7'), details: {} };
      expect([
        ...(await detectors.observe(use, from('10.0.0.7'), 0)),
        ...(await detectors.observe(noAddress, from('10.0.0.7'), 0)),
      ]).toEqual([]);
    });
  });

  it('should never count its own alerts', async () => {
    const detectors = new AlertDetectors({ ...config, deniedPerAddress: 1 });
    const alert: AuditRecord = { action: 'security.alert', outcome: 'denied', security: true, status: 403 };
    expect(await detectors.observe(alert, from('10.0.0.1'), 0)).toEqual([]);
  });

  it('should skip the per-address detectors outside a request', async () => {
    const detectors = new AlertDetectors({ ...config, loginFailuresPerAddress: 1, loginFailuresPerAccount: 100 });
    expect(await detectors.observe(loginFailure('u@x.test'), { address: undefined, request: undefined }, 0)).toEqual(
      [],
    );
  });
});
