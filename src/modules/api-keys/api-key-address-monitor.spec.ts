import type { EventEmitter2 } from '@nestjs/event-emitter';
import type { PinoLogger } from 'nestjs-pino';
import { describe, expect, it, vi } from 'vitest';
import { AUDIT_RECORD } from '../../common/audit/audit-record.js';
import type { MetricsRegistry } from '../../common/metrics/metrics-registry.js';
import { CounterStore } from '../../common/redis/counter-store.js';
import type { RedisService } from '../../common/redis/redis.service.js';
import { ApiKeyAddressMonitor } from './api-key-address-monitor.js';
import type { ApiKey } from './api-key.entity.js';
import type { AddressStored, ApiKeysRepository } from './api-keys.repository.js';

const key = { id: 'key-1', userId: 'owner-1' } as ApiKey;
const DAY = 86_400_000;

/** A monitor whose every write of an address finds `stored` (or fails with that error). */
function monitorWith(stored: AddressStored | Error = { isNew: true, hadOthers: true }) {
  const rememberAddress = vi.fn<
    (keyId: string, address: string, refreshAfterSeconds: number) => Promise<AddressStored>
  >(() => (stored instanceof Error ? Promise.reject(stored) : Promise.resolve(stored)));
  const emitAsync = vi.fn(() => Promise.resolve([]));
  const logger = { warn: vi.fn(), error: vi.fn() };
  const monitor = new ApiKeyAddressMonitor(
    { rememberAddress } as unknown as ApiKeysRepository,
    { emitAsync } as unknown as EventEmitter2,
    // This instance's own counters (no Redis): the alert cap per key.
    new CounterStore({ client: undefined } as RedisService, {} as MetricsRegistry, logger as unknown as PinoLogger),
    logger as unknown as PinoLogger,
  );
  return { monitor, rememberAddress, emitAsync, logger };
}

describe(ApiKeyAddressMonitor.name, () => {
  it('should audit an address new to a key used elsewhere before', async () => {
    const { monitor, rememberAddress, emitAsync } = monitorWith({ isNew: true, hadOthers: true });
    monitor.noteUse(key, '::ffff:10.0.0.7');
    await monitor.settled();
    expect(rememberAddress).toHaveBeenCalledWith('key-1', '10.0.0.7', 86_400);
    expect(emitAsync).toHaveBeenCalledWith(AUDIT_RECORD, {
      action: 'api-key.new-address',
      outcome: 'success',
      security: true,
      actorId: 'owner-1',
      authMethod: 'api-key',
      credentialId: 'key-1',
      target: 'key-1',
      details: { address: '10.0.0.7' },
    });
  });

  it('should key addresses by bucket: one IPv6 /64 is one address', async () => {
    const { monitor, rememberAddress } = monitorWith({ isNew: false, hadOthers: true });
    monitor.noteUse(key, '2001:db8:1:2::1');
    monitor.noteUse(key, '2001:db8:1:2:ffff:ffff:ffff:fffe');
    await monitor.settled();
    expect(rememberAddress.mock.calls).toEqual([['key-1', '2001:db8:1:2::/64', 86_400]]);
  });

  it('should audit at most five new addresses of one key an hour, the fifth saying alerts stop there', async () => {
    const { monitor, rememberAddress, emitAsync } = monitorWith({ isNew: true, hadOthers: true });
    for (let i = 1; i <= 8; i++) monitor.noteUse(key, `10.0.0.${i}`);
    await monitor.settled();
    expect(rememberAddress).toHaveBeenCalledTimes(8);
    const details = emitAsync.mock.calls.map((call) => (call as unknown[])[1] as { details: object });
    expect(details.map((record) => record.details)).toEqual([
      { address: '10.0.0.1' },
      { address: '10.0.0.2' },
      { address: '10.0.0.3' },
      { address: '10.0.0.4' },
      { address: '10.0.0.5', alertsCapped: true },
    ]);
  });

  it("should not audit a key's first address, nor one stored before", async () => {
    for (const stored of [
      { isNew: true, hadOthers: false },
      { isNew: false, hadOthers: true },
    ]) {
      const { monitor, emitAsync } = monitorWith(stored);
      monitor.noteUse(key, '10.0.0.7');
      await monitor.settled();
      expect(emitAsync).not.toHaveBeenCalled();
    }
  });

  it('should store a pair once, however many uses follow, even before the first write ends', async () => {
    const { monitor, rememberAddress } = monitorWith();
    for (let i = 0; i < 5; i++) monitor.noteUse(key, '10.0.0.7');
    monitor.noteUse(key, '::ffff:10.0.0.7');
    await monitor.settled();
    monitor.noteUse(key, '10.0.0.7');
    expect(rememberAddress).toHaveBeenCalledTimes(1);
    monitor.noteUse(key, '10.0.0.8');
    monitor.noteUse({ ...key, id: 'key-2' }, '10.0.0.7');
    expect(rememberAddress).toHaveBeenCalledTimes(3);
  });

  it('should write a known pair again once a day after its last write, and not before', async () => {
    const { monitor, rememberAddress } = monitorWith({ isNew: false, hadOthers: true });
    const start = Date.now();
    monitor.noteUse(key, '10.0.0.7', start);
    monitor.noteUse(key, '10.0.0.7', start + DAY - 1);
    await monitor.settled();
    expect(rememberAddress).toHaveBeenCalledTimes(1);
    monitor.noteUse(key, '10.0.0.7', start + DAY);
    monitor.noteUse(key, '10.0.0.7', start + DAY + 1);
    await monitor.settled();
    expect(rememberAddress).toHaveBeenCalledTimes(2);
    // The day counts from that second write.
    monitor.noteUse(key, '10.0.0.7', start + 2 * DAY - 1);
    expect(rememberAddress).toHaveBeenCalledTimes(2);
    monitor.noteUse(key, '10.0.0.7', start + 2 * DAY);
    expect(rememberAddress).toHaveBeenCalledTimes(3);
  });

  it('should forget a pair written again after the pairs written since its first write', async () => {
    const { monitor, rememberAddress } = monitorWith({ isNew: false, hadOthers: true });
    const start = Date.now();
    const other = (i: number) => ({ ...key, id: `other-${i}` });
    monitor.noteUse(key, '10.0.0.7', start);
    for (let i = 1; i < 10_000; i++) monitor.noteUse(other(i), '10.0.0.7', start);
    monitor.noteUse(key, '10.0.0.7', start + DAY);
    // One pair too many: the first pair is now the least recently written, so it goes.
    monitor.noteUse(other(10_000), '10.0.0.7', start + DAY);
    await monitor.settled();
    rememberAddress.mockClear();
    monitor.noteUse(key, '10.0.0.7', start + DAY);
    expect(rememberAddress).not.toHaveBeenCalled();
    monitor.noteUse(other(1), '10.0.0.7', start + DAY);
    expect(rememberAddress).toHaveBeenCalledTimes(1);
  });

  it('should log a failed write and try again at the next use', async () => {
    const { monitor, rememberAddress, logger } = monitorWith(new Error('connection terminated'));
    monitor.noteUse(key, '10.0.0.7');
    await monitor.settled();
    expect(logger.warn).toHaveBeenCalledWith(expect.anything(), 'could not record API key address');
    monitor.noteUse(key, '10.0.0.7');
    await monitor.settled();
    expect(rememberAddress).toHaveBeenCalledTimes(2);
  });

  it('should log an alert record the audit trail refused, and not throw', async () => {
    const { monitor, emitAsync, logger } = monitorWith();
    emitAsync.mockRejectedValueOnce(new Error('audit down'));
    monitor.noteUse(key, '10.0.0.7');
    await monitor.settled();
    expect(logger.error).toHaveBeenCalledWith(expect.anything(), 'new API key address not audited');
  });

  it('should remember a bounded number of pairs, forgetting the oldest first', async () => {
    const { monitor, rememberAddress } = monitorWith({ isNew: false, hadOthers: true });
    for (let i = 0; i <= 10_000; i++) monitor.noteUse({ ...key, id: `key-${i}` }, '10.0.0.7');
    await monitor.settled();
    expect(rememberAddress).toHaveBeenCalledTimes(10_001);
    monitor.noteUse({ ...key, id: 'key-10000' }, '10.0.0.7');
    monitor.noteUse({ ...key, id: 'key-0' }, '10.0.0.7');
    expect(rememberAddress).toHaveBeenCalledTimes(10_002);
    expect(rememberAddress).toHaveBeenLastCalledWith('key-0', '10.0.0.7', 86_400);
  });
});
