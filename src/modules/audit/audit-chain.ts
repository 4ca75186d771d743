import { hash } from 'node:crypto';

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

/** Every object's keys sorted, at every depth (arrays keep their order). */
export function sortKeys(value: unknown): unknown {
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

/**
 * Canonical JSON: sorted keys at every depth, so Postgres's jsonb key order does not matter.
 * The top level is an object literal written in sorted key order (JSON keeps a literal's
 * order, and skips undefined as the generic form does); sorting it on every event, or
 * writing it field by field, cost more than hashing it. `details` is sorted recursively.
 */
export function canonicalContent(event: ChainedContent): string {
  return JSON.stringify({
    action: event.action,
    actorId: event.actorId,
    at: event.at.toISOString(),
    authMethod: event.authMethod,
    credentialId: event.credentialId,
    details: sortKeys(event.details),
    id: event.id,
    ip: event.ip,
    latencyMs: event.latencyMs,
    outcome: event.outcome,
    requestId: event.requestId,
    status: event.status,
    target: event.target,
    userAgent: event.userAgent,
  } satisfies Record<keyof ChainedContent, unknown>);
}

/** SHA-256 over the previous event's hash and this event's canonical content. */
export function chainHash(prevHash: Buffer, event: ChainedContent): Buffer {
  return hash('sha256', Buffer.concat([prevHash, Buffer.from(canonicalContent(event), 'utf8')]), 'buffer');
}
