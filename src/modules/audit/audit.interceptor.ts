import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import type { Request, Response } from 'express';
import { tap, type Observable } from 'rxjs';
import { routeSecurity } from '../../common/auth/route-security.js';
import { renderError } from '../../common/errors/problem-details.filter.js';
import { AuditService } from './audit.service.js';

/**
 * Writes one audit event for every request to an @Audited route, success or failure,
 * with the actor, target, status and latency. Enqueueing is synchronous and cheap; the
 * write happens later, in batches.
 */
@Injectable()
export class AuditInterceptor implements NestInterceptor {
  constructor(private readonly audit: AuditService) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const action = routeSecurity(context.getHandler(), context.getClass()).auditAction;
    if (!action) return next.handle();
    const request = context.switchToHttp().getRequest<Request>();
    const response = context.switchToHttp().getResponse<Response>();
    const started = performance.now();
    const record = (status: number, target: string | null) =>
      void this.audit.record(
        {
          action,
          outcome: status < 400 ? 'success' : status === 401 || status === 403 ? 'denied' : 'failure',
          target,
          status,
          details: { method: request.method, route: request.route?.path as string | undefined },
          security: status === 403,
        },
        request,
        Math.round(performance.now() - started),
      );
    return next.handle().pipe(
      tap({
        next: (body: unknown) => {
          const createdId = (body as { id?: unknown } | undefined)?.id;
          record(
            response.statusCode,
            String(request.params.id ?? (typeof createdId === 'string' ? createdId : '')) || null,
          );
        },
        error: (error: unknown) => record(renderError(error).status, (request.params.id as string | undefined) ?? null),
      }),
    );
  }
}
