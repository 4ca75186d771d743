import { Injectable } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import type { Request } from 'express';
import { AUDIT_RECORD, type AuditRecord } from '../../common/audit/audit-record.js';
import { clientAddress } from '../../common/http/client-address.js';
import { currentRequest } from '../../common/http/request-context.js';
import { redactSecrets } from '../../common/logging/redact.js';
import { traceFields } from '../../common/tracing/trace-context.js';
import { AuditWriter, type PendingEvent } from './audit-writer.js';
import { SecurityEventFeed } from './security-events/security-event-feed.js';

/**
 * What the database can store of a text field taken from the request: at most `max`
 * characters (its column's length) and no NUL, which Postgres text refuses. A target is
 * often an id from the path, and an event the database refuses would fail its whole batch.
 */
function storable(value: string | null | undefined, max: number): string | null {
  if (value == null) return null;
  return (value.includes('\0') ? value.replace(/\0/g, '\uFFFD') : value).slice(0, max);
}

/**
 * The entry point of the audit trail: modules emit AUDIT_RECORD events (or the interceptor
 * records a request); this fills in who, from where and in which request, redacts the
 * details and hands the event to the writer (and, when it is one, to the security events).
 */
@Injectable()
export class AuditService {
  constructor(
    private readonly writer: AuditWriter,
    private readonly securityEvents: SecurityEventFeed,
  ) {}

  @OnEvent(AUDIT_RECORD, { promisify: true, suppressErrors: false })
  async record(
    record: AuditRecord,
    request: Request | undefined = currentRequest(),
    latencyMs: number | null = null,
  ): Promise<void> {
    const principal = request?.principal;
    const event: PendingEvent = {
      at: new Date(),
      requestId: request ? String(request.id ?? '') || null : null,
      actorId: record.actorId !== undefined ? record.actorId : (principal?.userId ?? null),
      authMethod: record.authMethod !== undefined ? record.authMethod : (principal?.authMethod ?? null),
      credentialId: record.credentialId !== undefined ? record.credentialId : (principal?.credentialId ?? null),
      action: record.action,
      target: storable(record.target, 200),
      outcome: record.outcome,
      ip: request ? storable(clientAddress(request), 64) : null,
      userAgent: storable(request?.headers['user-agent'], 300),
      status: record.status ?? null,
      latencyMs,
      details: redactSecrets({ ...record.details, ...traceFields() }) as Record<string, unknown>,
      security: record.security ?? false,
    };
    this.securityEvents.observe(event);
    await this.writer.enqueue(event);
  }
}
