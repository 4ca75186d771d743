import type { Permission } from '../../common/auth/permission.js';
import type { Principal } from '../../common/auth/principal.js';

/**
 * Which field notes a caller reaches, as data: the repository turns it into a WHERE clause,
 * so what the caller may not reach is never read, let alone changed (no BOLA).
 */
export type FieldNoteScope = { kind: 'all' } | { kind: 'owned'; ownerId: string } | { kind: 'none' };

/** The owner reaches their own field notes and an admin everyone's, both only with `permission`. */
export function scopeOf(principal: Principal, permission: Permission): FieldNoteScope {
  if (!principal.permissions.has(permission)) return { kind: 'none' };
  if (principal.roles.includes('admin')) return { kind: 'all' };
  return { kind: 'owned', ownerId: principal.userId };
}
