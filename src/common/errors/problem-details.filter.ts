import { STATUS_CODES } from 'node:http';
import { Catch, HttpException, HttpStatus, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { Request, Response } from 'express';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { AUDIT_RECORD, type AuditRecord } from '../audit/audit-record.js';
import { MetricsRegistry } from '../metrics/metrics-registry.js';
import { traceFields } from '../tracing/trace-context.js';
import { AppError, type FieldError } from './app-error.js';
import { isDatabaseUnavailable, isForeignKeyViolation } from './db-errors.js';

/** RFC 9457 problem details, as every error response of this API carries them. */
export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance: string;
  requestId: string;
  /** The W3C trace id, when tracing is on. */
  traceId?: string;
  errors?: FieldError[];
}

interface Rendered {
  status: number;
  code: string;
  title: string;
  detail?: string;
  errors?: FieldError[];
  headers: Record<string, string>;
  members?: Record<string, unknown>;
}

/** Long enough for a failover or a restart to be noticed, short enough not to idle once it is over. */
const DATABASE_RETRY_AFTER_SECONDS = 2;

/** The 404 of a path that no route serves. */
const NO_ROUTE = 'Nothing is served at this path with this method.';

/** The problem type code of a status without a more specific one: `bad-request`, `not-found`. */
export function codeFor(status: number): string {
  return (STATUS_CODES[status] ?? 'error').toLowerCase().replace(/[^a-z0-9]+/g, '-');
}

/** Errors raised outside Nest (body parsers, http-errors) that declare a safe client status. */
function exposedHttpError(error: unknown): { status: number; message: string } | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { status, statusCode, expose, message } = error as Record<string, unknown>;
  const code = typeof status === 'number' ? status : statusCode;
  if (expose === true && typeof code === 'number' && code >= 400 && code < 500) {
    return { status: code, message: typeof message === 'string' ? message : '' };
  }
  return undefined;
}

/** How an error is answered: what the filter sends, and what the audit trail records. */
export function renderError(error: unknown): Rendered {
  if (error instanceof AppError) {
    return {
      status: error.status,
      code: error.code,
      title: error.title,
      detail: error.detail,
      errors: 'errors' in error ? (error.errors as FieldError[]) : undefined,
      headers: error.headers,
      members: error.members,
    };
  }
  if (error instanceof HttpException) {
    const status = error.getStatus();
    return {
      status,
      code: codeFor(status),
      title: STATUS_CODES[status] ?? 'Error',
      // The router's 404 ("Cannot GET /x") is said in our words; other Nest messages are
      // safe to show; a 5xx says nothing.
      detail: status === 404 ? NO_ROUTE : status < 500 ? error.message : undefined,
      headers: {},
    };
  }
  if (isForeignKeyViolation(error)) {
    // A race with another request, not a fault of the server: the client may retry or reload.
    return {
      status: HttpStatus.CONFLICT,
      code: codeFor(HttpStatus.CONFLICT),
      title: 'Conflict',
      detail: 'The change conflicts with related data: something it refers to was removed meanwhile.',
      headers: {},
    };
  }
  if (isDatabaseUnavailable(error)) {
    // Not a bug and not the client's fault: the database is away (restart, failover, network)
    // and the pool reconnects by itself. Where, and why, is for the log only.
    return {
      status: HttpStatus.SERVICE_UNAVAILABLE,
      code: codeFor(HttpStatus.SERVICE_UNAVAILABLE),
      title: 'Service Unavailable',
      detail: 'The service is briefly unable to handle the request; try again shortly.',
      headers: { 'Retry-After': String(DATABASE_RETRY_AFTER_SECONDS) },
    };
  }
  const exposed = exposedHttpError(error);
  if (exposed) {
    return {
      status: exposed.status,
      code: codeFor(exposed.status),
      title: STATUS_CODES[exposed.status] ?? 'Error',
      headers: {},
    };
  }
  const status = HttpStatus.INTERNAL_SERVER_ERROR;
  return { status, code: codeFor(status), title: 'Internal Server Error', headers: {} };
}

/**
 * Renders every error as problem+json. Client errors say what was wrong; a database that is
 * away is a 503 with Retry-After; anything unexpected is a bare 500 with no detail. Both
 * are logged without stack, SQL or parameters.
 */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  constructor(
    @InjectPinoLogger('errors') private readonly logger: PinoLogger,
    private readonly events: EventEmitter2,
    private readonly metrics: MetricsRegistry,
  ) {}

  catch(error: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<Request>();
    const response = http.getResponse<Response>();
    const rendered = renderError(error);
    if (rendered.status >= 500) this.logUnexpected(error, rendered.status);
    this.recordRefusal(rendered.status, request);
    if (response.headersSent) {
      response.end();
      return;
    }
    const body: ProblemDetails = {
      type: `urn:problem:${rendered.code}`,
      title: rendered.title,
      status: rendered.status,
      ...(rendered.detail ? { detail: rendered.detail } : {}),
      instance: request.originalUrl.split('?')[0] ?? '/',
      requestId: String(request.id ?? ''),
      ...traceFields(),
      ...(rendered.errors ? { errors: rendered.errors } : {}),
      ...rendered.members,
    };
    response.status(rendered.status);
    response.setHeader('Content-Type', 'application/problem+json; charset=utf-8');
    for (const [name, value] of Object.entries(rendered.headers)) response.setHeader(name, value);
    response.end(request.method === 'HEAD' ? undefined : JSON.stringify(body));
  }

  /** Denials (403) and rate-limit hits (429) are security events, whichever code raised them. */
  private recordRefusal(status: number, request: Request): void {
    if (status !== 403 && status !== 429) return;
    if (status === 429) this.metrics.rateLimited.inc({ limit: request.appliedRateLimit?.name ?? 'lockout' });
    const record: AuditRecord = {
      action: status === 403 ? 'access.denied' : 'rate-limit.exceeded',
      outcome: 'denied',
      security: true,
      status,
      target: request.originalUrl.split('?')[0] ?? null,
      details: { method: request.method, route: request.route?.path as string | undefined },
    };
    this.events.emitAsync(AUDIT_RECORD, record).catch((error: unknown) => this.logUnexpected(error, 500));
  }

  private logUnexpected(error: unknown, status: number): void {
    // The `err` serializer keeps name, message and code only: no stack, SQL or parameters.
    this.logger.error({ err: error, status }, 'request failed');
  }
}
