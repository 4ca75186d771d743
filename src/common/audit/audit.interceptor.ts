import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import type { Request, Response } from 'express';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { tap, type Observable } from 'rxjs';
import { routeSecurity } from '../auth/route-security.js';
import { renderError } from '../errors/problem-details.filter.js';
import { AUDIT_RECORD, type AuditRecord } from './audit-record.js';

/**
 * Writes one audit event for every request to an @Audited route, success or failure, with
 * the actor, target, status and latency. `@Audited` attaches it to its route only: a route
 * without one skips Nest's interceptor chain (an Observable pipeline per request) altogether.
 * Emitting is synchronous and cheap; the audit module stores the event later, in batches.
 */
@Injectable()
export class AuditInterceptor implements NestInterceptor {
  constructor(
    private readonly events: EventEmitter2,
    @InjectPinoLogger(AuditInterceptor.name) private readonly logger: PinoLogger,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const action = routeSecurity(context.getHandler(), context.getClass()).auditAction;
    if (!action) return next.handle();
    const request = context.switchToHttp().getRequest<Request>();
    const response = context.switchToHttp().getResponse<Response>();
    const started = performance.now();
    const record = (status: number, target: string | null): void => {
      const event: AuditRecord = {
        action,
        outcome: status < 400 ? 'success' : status === 401 || status === 403 ? 'denied' : 'failure',
        target,
        status,
        details: { method: request.method, route: request.route?.path as string | undefined },
        security: status === 403,
      };
      // The audit module's listener takes the request and the latency after the record.
      this.events
        .emitAsync(AUDIT_RECORD, event, request, Math.round(performance.now() - started))
        .catch((error: unknown) => this.logger.error({ err: error, action }, 'could not record an audit event'));
    };
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
