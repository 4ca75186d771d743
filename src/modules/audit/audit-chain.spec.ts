import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalContent, chainHash, GENESIS_HASH, sortKeys, type ChainedContent } from './audit-chain.js';

/** The canonical form as first written (the whole event sorted generically): stored chains were hashed so. */
function referenceCanonical(event: ChainedContent): string {
  return JSON.stringify(sortKeys({ ...event, at: event.at.toISOString() }));
}

const text = fc.option(fc.string({ unit: 'binary' }), { nil: null });
const events: fc.Arbitrary<ChainedContent> = fc.record({
  id: fc.uuid(),
  at: fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }),
  requestId: text,
  actorId: fc.option(fc.uuid(), { nil: null }),
  authMethod: text,
  credentialId: text,
  action: fc.string(),
  target: text,
  outcome: fc.constantFrom('success', 'failure', 'denied'),
  ip: text,
  userAgent: text,
  status: fc.option(fc.integer(), { nil: null }),
  latencyMs: fc.option(fc.nat(), { nil: null }),
  details: fc.dictionary(fc.string(), fc.jsonValue()) as fc.Arbitrary<Record<string, unknown>>,
});

describe('audit chain', () => {
  it('should write the canonical form byte for byte as before, so stored chains still verify', () => {
    fc.assert(
      fc.property(events, (event) => {
        expect(canonicalContent(event)).toBe(referenceCanonical(event));
      }),
      { numRuns: 500 },
    );
  });

  it('should hash the previous hash and the canonical form with SHA-256', () => {
    fc.assert(
      fc.property(events, fc.uint8Array({ minLength: 32, maxLength: 32 }), (event, previous) => {
        const prevHash = Buffer.from(previous);
        const expected = createHash('sha256').update(prevHash).update(referenceCanonical(event), 'utf8').digest();
        expect(chainHash(prevHash, event).equals(expected)).toBe(true);
      }),
      { numRuns: 200 },
    );
    expect(GENESIS_HASH).toHaveLength(32);
  });
});
