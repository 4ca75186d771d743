import { HttpStatus } from '@nestjs/common';

export interface FieldError {
  /** Dotted path of the offending input, e.g. `password` or `items.0.name`. */
  field: string;
  message: string;
}

/**
 * A failure the client can act on. Each subclass has a stable `code`, which becomes the
 * problem `type` (`urn:problem:<code>`), so clients branch on it instead of on wording.
 */
export abstract class AppError extends Error {
  abstract readonly code: string;
  abstract readonly status: HttpStatus;
  abstract readonly title: string;
  /** Extra response headers (Retry-After, WWW-Authenticate, ...). */
  readonly headers: Record<string, string> = {};
  /** RFC 9457 extension members the client acts on (e.g. `mfaToken`); never secrets of the server. */
  readonly members: Record<string, unknown> = {};

  constructor(readonly detail?: string) {
    // Without a stack trace: an answer to the client needs none, no log line carries one
    // (describeError), and capturing it was a twentieth of the cost of a refused request.
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(detail);
    Error.stackTraceLimit = stackTraceLimit;
    this.name = new.target.name;
  }
}

export class ValidationFailedError extends AppError {
  readonly code = 'validation-failed';
  readonly status = HttpStatus.BAD_REQUEST;
  readonly title = 'The request is not valid';
  constructor(readonly errors: FieldError[]) {
    super(errors.map((e) => `${e.field}: ${e.message}`).join('; '));
  }
}

export class BadRequestError extends AppError {
  readonly code = 'bad-request';
  readonly status = HttpStatus.BAD_REQUEST;
  readonly title = 'Bad request';
}

export class MalformedBodyError extends AppError {
  readonly code = 'malformed-body';
  readonly status = HttpStatus.BAD_REQUEST;
  readonly title = 'The request body is not valid JSON';
}

export class UnsupportedMediaTypeError extends AppError {
  readonly code = 'unsupported-media-type';
  readonly status = HttpStatus.UNSUPPORTED_MEDIA_TYPE;
  readonly title = 'Unsupported media type';
}

export class PayloadTooLargeError extends AppError {
  readonly code = 'payload-too-large';
  readonly status = HttpStatus.PAYLOAD_TOO_LARGE;
  readonly title = 'The request body is too large';
}

export class UnauthenticatedError extends AppError {
  readonly code = 'unauthenticated';
  readonly status = HttpStatus.UNAUTHORIZED;
  readonly title = 'Authentication required';
  constructor(detail = 'This route needs a credential.', wwwAuthenticate = 'Bearer realm="api"') {
    super(detail);
    this.headers['WWW-Authenticate'] = wwwAuthenticate;
  }
}

export class ForbiddenError extends AppError {
  readonly code = 'forbidden';
  readonly status = HttpStatus.FORBIDDEN;
  readonly title = 'Not allowed';
}

export class NotFoundError extends AppError {
  readonly code = 'not-found';
  readonly status = HttpStatus.NOT_FOUND;
  readonly title = 'Not found';
}

export class ConflictError extends AppError {
  readonly code = 'conflict';
  readonly status = HttpStatus.CONFLICT;
  readonly title = 'Conflict';
}

export class ServiceUnavailableError extends AppError {
  readonly code = 'service-unavailable';
  readonly status = HttpStatus.SERVICE_UNAVAILABLE;
  readonly title = 'Service unavailable';
}

export class TooManyRequestsError extends AppError {
  readonly code = 'too-many-requests';
  readonly status = HttpStatus.TOO_MANY_REQUESTS;
  readonly title = 'Too many requests';
  constructor(detail: string, retryAfterSeconds: number) {
    super(detail);
    this.headers['Retry-After'] = String(Math.max(1, Math.ceil(retryAfterSeconds)));
  }
}

export class PreconditionFailedError extends AppError {
  readonly code = 'precondition-failed';
  readonly status = HttpStatus.PRECONDITION_FAILED;
  readonly title = 'The resource has changed';
}
