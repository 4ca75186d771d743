import type { AuditAction } from '../../common/audit/audit-actions.js';
import { addressBucket } from '../../common/http/client-address.js';
import type { PendingEvent } from './audit-writer.js';

/** The refusals a flood repeats per request: each is aggregated per address bucket and window. */
const AGGREGATED_ACTIONS: ReadonlySet<string> = new Set<AuditAction>([
  'auth.credential.refused',
  'rate-limit.exceeded',
]);
/** The aggregation window, from a key's first refusal: two rows per address, reason and minute at most. */
export const TALLY_WINDOW_MS = 60_000;
/** Open tallies held at once; past it the oldest is written early (its window cut short). */
const MAX_OPEN_TALLIES = 10_000;

interface Tally {
  first: PendingEvent;
  windowStart: number;
  /** Refusals after the first, not yet written. */
  count: number;
  lastAt: Date;
}

/**
 * Aggregates repeated refusals (a refused credential, a rate-limit 429) so a flood of them
 * costs the trail one row per address bucket, reason and window instead of a row each: the
 * first refusal of a window is written as it is (request id and all), the rest are counted
 * and written as one event of the same action with `details.aggregated` (how many), the
 * bucket and the window, when the window ends (or the writer drains). Nothing is dropped:
 * every refusal is in a row or in a count. The detectors still see each one (they observe
 * records, not rows).
 */
export class RefusalTally {
  private readonly open = new Map<string, Tally>();

  constructor(private readonly capacity = MAX_OPEN_TALLIES) {}

  /**
   * Whether `event` is counted into an open tally (and must not be written itself). Tallies
   * it closes (an older window of the same key, the oldest past the bound) go to `emit`.
   */
  absorb(event: PendingEvent, emit: (aggregate: PendingEvent) => void): boolean {
    if (!AGGREGATED_ACTIONS.has(event.action) || !event.ip || 'aggregated' in event.details) return false;
    const bucket = addressBucket(event.ip);
    const kind = typeof event.details.kind === 'string' ? event.details.kind : '';
    const key = `${event.action} ${kind} ${bucket}`;
    const at = event.at.getTime();
    const tally = this.open.get(key);
    if (tally && at < tally.windowStart + TALLY_WINDOW_MS) {
      tally.count += 1;
      tally.lastAt = event.at;
      return true;
    }
    if (tally) this.close(key, tally, emit);
    this.open.set(key, { first: event, windowStart: at, count: 0, lastAt: event.at });
    if (this.open.size > this.capacity) {
      const [oldestKey, oldest] = this.open.entries().next().value as [string, Tally];
      this.close(oldestKey, oldest, emit);
    }
    return false;
  }

  /** Closes the tallies whose window has ended by `now` (all of them with `now` = Infinity). */
  closeDue(emit: (aggregate: PendingEvent) => void, now = Date.now()): void {
    for (const [key, tally] of this.open) {
      if (tally.windowStart + TALLY_WINDOW_MS <= now) this.close(key, tally, emit);
    }
  }

  get size(): number {
    return this.open.size;
  }

  private close(key: string, tally: Tally, emit: (aggregate: PendingEvent) => void): void {
    this.open.delete(key);
    if (tally.count === 0) return;
    const { first } = tally;
    const bucket = first.ip ? addressBucket(first.ip) : null;
    emit({
      ...first,
      at: tally.lastAt,
      requestId: null,
      latencyMs: null,
      target: bucket,
      details: {
        aggregated: tally.count,
        addressBucket: bucket,
        windowStart: new Date(tally.windowStart).toISOString(),
        windowEnd: new Date(tally.windowStart + TALLY_WINDOW_MS).toISOString(),
        ...(first.details.kind ? { kind: first.details.kind } : {}),
      },
    });
  }
}
