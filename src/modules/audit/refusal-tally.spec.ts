import { describe, expect, it } from 'vitest';
import type { PendingEvent } from './audit-writer.js';
import { RefusalTally, TALLY_WINDOW_MS } from './refusal-tally.js';

const refused = (ip: string, at: number, action = 'auth.credential.refused'): PendingEvent => ({
  at: new Date(at),
  requestId: `req-${at}`,
  actorId: null,
  authMethod: null,
  credentialId: null,
  action,
  target: null,
  outcome: 'denied',
  ip,
  userAgent: null,
  status: 401,
  latencyMs: null,
  details: { kind: 'jwt' },
  security: true,
});

describe(RefusalTally.name, () => {
  it('should let the first refusal of a window through and count the rest into one event when it ends', () => {
    const tally = new RefusalTally();
    const emitted: PendingEvent[] = [];
    const emit = (event: PendingEvent) => emitted.push(event);
    expect(tally.absorb(refused('10.0.0.1', 0), emit)).toBe(false);
    for (let i = 1; i <= 5; i++) expect(tally.absorb(refused('10.0.0.1', i * 1000), emit)).toBe(true);
    tally.closeDue(emit, TALLY_WINDOW_MS - 1);
    expect(emitted).toEqual([]);
    tally.closeDue(emit, TALLY_WINDOW_MS);
    expect(emitted).toHaveLength(1);
    expect(emitted[0]).toMatchObject({
      action: 'auth.credential.refused',
      requestId: null,
      target: '10.0.0.1',
      details: { aggregated: 5, addressBucket: '10.0.0.1', kind: 'jwt' },
    });
    expect(tally.size).toBe(0);
  });

  it('should keep addresses of one IPv6 /64 in one tally, and reasons apart', () => {
    const tally = new RefusalTally();
    const emit = () => undefined;
    expect(tally.absorb(refused('2001:db8::1', 0), emit)).toBe(false);
    expect(tally.absorb(refused('2001:db8::2', 1), emit)).toBe(true);
    expect(tally.absorb(refused('2001:db8::2', 2, 'rate-limit.exceeded'), emit)).toBe(false);
    expect(tally.absorb(refused('2001:db8:0:1::1', 3), emit)).toBe(false);
  });

  it('should never absorb other actions, or its own aggregates', () => {
    const tally = new RefusalTally();
    const emitted: PendingEvent[] = [];
    const emit = (event: PendingEvent) => emitted.push(event);
    expect(tally.absorb(refused('10.0.0.1', 0, 'auth.login'), emit)).toBe(false);
    expect(tally.absorb(refused('10.0.0.1', 1, 'auth.login'), emit)).toBe(false);
    tally.absorb(refused('10.0.0.2', 0), emit);
    tally.absorb(refused('10.0.0.2', 1), emit);
    tally.closeDue(emit, Number.POSITIVE_INFINITY);
    expect(tally.absorb(emitted[0] as PendingEvent, emit)).toBe(false);
  });

  it('should hold a bounded number of tallies, writing the oldest early', () => {
    const tally = new RefusalTally(2);
    const emitted: PendingEvent[] = [];
    const emit = (event: PendingEvent) => emitted.push(event);
    for (const ip of ['10.0.0.1', '10.0.0.2']) {
      tally.absorb(refused(ip, 0), emit);
      tally.absorb(refused(ip, 1), emit);
    }
    tally.absorb(refused('10.0.0.3', 2), emit);
    expect(tally.size).toBe(2);
    expect(emitted.map((event) => event.target)).toEqual(['10.0.0.1']);
  });
});
