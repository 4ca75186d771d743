import { createHash } from 'node:crypto';

/** The first event of a chain links to this. */
export const GENESIS_HASH = Buffer.alloc(32);

/** The fields a hash covers: everything an event says. */
export interface ChainedContent {
  id: string;
  at: Date;
  requestId: string | null;
  actorId: string | null;
  authMethod: string | null;
  credentialId: string | null;
  action: string;
  target: string | null;
  outcome: string;
  ip: string | null;
  userAgent: string | null;
  status: number | null;
  latencyMs: number | null;
  details: Record<string, unknown>;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, sortKeys((value as Record<string, unknown>)[key])]),
    );
  }
  return value;
}

/** Canonical JSON: sorted keys at every depth, so Postgres's jsonb key order does not matter. */
export function canonicalContent(event: ChainedContent): string {
  return JSON.stringify(sortKeys({ ...event, at: event.at.toISOString() }));
}

/** SHA-256 over the previous event's hash and this event's canonical content. */
export function chainHash(prevHash: Buffer, event: ChainedContent): Buffer {
  return createHash('sha256').update(prevHash).update(canonicalContent(event), 'utf8').digest();
}
