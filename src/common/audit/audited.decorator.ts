import { declareOnce, ROUTE_AUDIT_ACTION, ROUTE_SERVICE_AUDIT_ACTIONS } from '../auth/route-security.js';
import type { AuditAction } from './audit-actions.js';

/**
 * One event per request to this route (or to every route of a controller), written by the
 * audit interceptor: `@Audited('resource.delete')`. Read through `routeSecurity`.
 */
export const Audited = (action: AuditAction) => declareOnce(ROUTE_AUDIT_ACTION, 'audit action (@Audited)', action);

/**
 * For a route whose service records its own audit events as things happen (a failed
 * sign-in, a lockout, a refresh token replayed): names them, so that the route-policy
 * snapshot shows what the route writes. The interceptor writes nothing for it.
 */
export const AuditedInService = (...actions: [AuditAction, ...AuditAction[]]) =>
  declareOnce(ROUTE_SERVICE_AUDIT_ACTIONS, 'service audit actions (@AuditedInService)', actions);
