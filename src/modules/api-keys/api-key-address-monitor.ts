import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { AUDIT_RECORD, type AuditRecord } from '../../common/audit/audit-record.js';
import { addressBucket } from '../../common/http/client-address.js';
import { CounterStore } from '../../common/redis/counter-store.js';
import type { ApiKey } from './api-key.entity.js';
import { ApiKeysRepository, type AddressStored } from './api-keys.repository.js';

const NEW_ADDRESS_ACTION = 'api-key.new-address';

/** Pairs of key and address one instance remembers; past that the oldest are forgotten (and looked up again). */
const MAX_KNOWN_PAIRS = 10_000;
/** The length of `api_key_addresses.address`. */
const MAX_ADDRESS_LENGTH = 64;
/** New-address alerts per key per window; past it new addresses are stored but not alerted. */
const MAX_ALERTS_PER_KEY = 5;
const ALERT_WINDOW_SECONDS = 3600;
/**
 * How often a pair in use has its `last_seen_at` written: daily is precise enough for a
 * retention counted in weeks (API_KEY_ADDRESS_RETENTION, at least 7d), and keeps a busy key's
 * requests free of writes.
 */
const REFRESH_AFTER_SECONDS = 86_400;
/**
 * Notices a key used from an address bucket (an IPv4 address, an IPv6 /64: what one client
 * controls) it was never used from before. The pairs this instance has seen stay in memory
 * with when it last wrote them, so a known pair costs one lookup; an unknown one is stored
 * once, off the request path, and when the address is new to a key already used from another
 * one it is audited as `api-key.new-address` (the alert detectors raise that at once). A pair
 * written a day ago or more is written again at its next use, which refreshes its
 * `last_seen_at` (the retention purge forgets pairs not seen for long).
 */
@Injectable()
export class ApiKeyAddressMonitor implements OnModuleDestroy {
  /** Pair to when this instance last wrote it (ms), in the order written: the oldest first. */
  private readonly known = new Map<string, number>();
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly keys: ApiKeysRepository,
    private readonly events: EventEmitter2,
    private readonly counters: CounterStore,
    @InjectPinoLogger(ApiKeyAddressMonitor.name) private readonly logger: PinoLogger,
  ) {}

  /** For every successful authentication; never waits, never throws. `now` is for tests that skip a day. */
  noteUse(key: ApiKey, address: string, now = Date.now()): void {
    const canonical = addressBucket(address).slice(0, MAX_ADDRESS_LENGTH);
    const pair = `${key.id} ${canonical}`;
    const written = this.known.get(pair);
    if (written !== undefined && now - written < REFRESH_AFTER_SECONDS * 1000) return;
    // Remembered before the write, so the requests that follow at once do not write it too;
    // moved to the end, so a pair written again is forgotten last.
    this.known.delete(pair);
    this.known.set(pair, now);
    if (this.known.size > MAX_KNOWN_PAIRS) this.forgetOldest();
    const check = this.store(key, canonical, pair).finally(() => this.pending.delete(check));
    this.pending.add(check);
  }

  /** Resolves once every address noticed so far is stored and, when new, audited. */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.all(this.pending);
  }

  /** Before the audit writer's last flush and the pool's close: the records are not lost. */
  onModuleDestroy(): Promise<void> {
    return this.settled();
  }

  private async store(key: ApiKey, address: string, pair: string): Promise<void> {
    let stored: AddressStored;
    try {
      stored = await this.keys.rememberAddress(key.id, address, REFRESH_AFTER_SECONDS);
    } catch (error) {
      // Forgotten, so a later use tries again.
      this.known.delete(pair);
      this.logger.warn({ err: error }, 'could not record API key address');
      return;
    }
    // The first address a key is ever used from is where its owner put it to work.
    if (!stored.isNew || !stored.hadOthers) return;
    const { count } = await this.counters.hit(`api-key-new-address:${key.id}`, ALERT_WINDOW_SECONDS);
    if (count > MAX_ALERTS_PER_KEY) return;
    const record: AuditRecord = {
      action: NEW_ADDRESS_ACTION,
      outcome: 'success',
      security: true,
      actorId: key.userId,
      authMethod: 'api-key',
      credentialId: key.id,
      target: key.id,
      details: count === MAX_ALERTS_PER_KEY ? { address, alertsCapped: true } : { address },
    };
    try {
      await this.events.emitAsync(AUDIT_RECORD, record);
    } catch (error) {
      this.logger.error({ err: error, keyId: key.id }, 'new API key address not audited');
    }
  }

  private forgetOldest(): void {
    const oldest = this.known.keys().next();
    if (!oldest.done) this.known.delete(oldest.value);
  }
}
