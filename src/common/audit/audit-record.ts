import type { AuthMethod } from '../auth/principal.js';
import type { AuditAction } from './audit-actions.js';

/** The event name every module emits audit records under; the audit module stores them. */
export const AUDIT_RECORD = 'audit.record';

export type AuditOutcome = 'success' | 'failure' | 'denied';

/**
 * One thing that happened, as a module reports it. Who, from where and in which request
 * are filled in from the request context by the audit module; a module may override them.
 */
export interface AuditRecord {
  action: AuditAction;
  outcome: AuditOutcome;
  target?: string | null;
  details?: Record<string, unknown>;
  /** Security events (failed sign-ins, lockouts, reuse, denials, alerts) are never dropped. */
  security?: boolean;
  actorId?: string | null;
  authMethod?: AuthMethod | null;
  credentialId?: string | null;
  status?: number | null;
}
