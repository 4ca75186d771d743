import { declareOnce, ROUTE_AUDIT_ACTION } from '../auth/route-security.js';
import type { AuditAction } from './audit-actions.js';

/**
 * One event per request to this route (or to every route of a controller), written by the
 * audit interceptor: `@Audited('resource.delete')`. Read through `routeSecurity`.
 */
export const Audited = (action: AuditAction) => declareOnce(ROUTE_AUDIT_ACTION, 'audit action (@Audited)', action);
