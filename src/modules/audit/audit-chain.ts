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

/** The fields of ChainedContent in sorted order: the canonical form lists them so. */
const SORTED_FIELDS = [
  'action',
  'actorId',
  'at',
  'authMethod',
  'credentialId',
  'details',
  'id',
  'ip',
  'latencyMs',
  'outcome',
  'requestId',
  'status',
  'target',
  'userAgent',
] as const satisfies readonly (keyof ChainedContent)[];

/**
 * Canonical JSON: sorted keys at every depth, so Postgres's jsonb key order does not matter.
 * The top level is written field by field in sorted order (sorting it on every event cost
 * more than hashing it); `details` is sorted recursively.
 */
export function canonicalContent(event: ChainedContent): string {
  let json = '';
  for (const field of SORTED_FIELDS) {
    const value =
      field === 'at' ? event.at.toISOString() : field === 'details' ? sortKeys(event.details) : event[field];
    if (value === undefined) continue;
    json += `${json ? ',' : '{'}"${field}":${JSON.stringify(value)}`;
  }
  return json ? `${json}}` : '{}';
}

/** SHA-256 over the previous event's hash and this event's canonical content. */
export function chainHash(prevHash: Buffer, event: ChainedContent): Buffer {
  return hash('sha256', Buffer.concat([prevHash, Buffer.from(canonicalContent(event), 'utf8')]), 'buffer');
}
