import { applyDecorators, UseInterceptors } from '@nestjs/common';
import {
  declareOnce,
  ROUTE_AUDIT_ACTION,
  ROUTE_SERVICE_AUDIT_ACTIONS,
  RouteDeclarationError,
} from '../auth/route-security.js';
import type { AuditAction } from './audit-actions.js';
import { AuditInterceptor } from './audit.interceptor.js';

/**
 * One event per request to this route, written by the audit interceptor, which this
 * attaches to the route: `@Audited('resource.delete')`. Read through `routeSecurity`. A
 * handler's decorator only: on a controller as well, a route would run the interceptor twice
 * and write two events, so the type refuses it and so does the boot.
 */
export const Audited = (action: AuditAction): MethodDecorator => {
  const declare = applyDecorators(
    declareOnce(ROUTE_AUDIT_ACTION, 'audit action (@Audited)', action),
    UseInterceptors(AuditInterceptor),
  );
  return (target, property, descriptor) => {
    if (descriptor === undefined) {
      const name = typeof target === 'function' ? target.name : String(property);
      throw new RouteDeclarationError(`${name} has @Audited on the controller: put it on each handler.`);
    }
    declare(target, property, descriptor);
  };
};

/**
 * For a route whose service records its own audit events as things happen (a failed
 * sign-in, a lockout, a refresh token replayed): names them, so that the route-policy
 * snapshot shows what the route writes. The interceptor writes nothing for it.
 */
export const AuditedInService = (...actions: [AuditAction, ...AuditAction[]]) =>
  declareOnce(ROUTE_SERVICE_AUDIT_ACTIONS, 'service audit actions (@AuditedInService)', actions);
