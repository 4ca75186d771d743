import { DatabaseError } from 'pg';
import { QueryFailedError, QueryRunnerAlreadyReleasedError } from 'typeorm';

/** True when a query failed on the named unique constraint (Postgres error 23505). */
export function isUniqueViolation(error: unknown, constraint: string): boolean {
  if (!(error instanceof QueryFailedError)) return false;
  const driverError = error.driverError as { code?: string; constraint?: string };
  return driverError.code === '23505' && driverError.constraint === constraint;
}

/**
 * True when a statement broke a foreign key (23503): it refers to a row another request
 * just removed (a user deleted while one of their requests is in flight), or removes one
 * still referred to.
 */
export function isForeignKeyViolation(error: unknown): boolean {
  return error instanceof QueryFailedError && (error.driverError as { code?: unknown }).code === '23503';
}

/**
 * True when the database refused a statement for the data it carries (SQLSTATE class 22,
 * data exception, or 23, integrity constraint violation): sending it again fails again.
 */
export function isRefusedData(error: unknown): boolean {
  if (!(error instanceof QueryFailedError)) return false;
  const code = (error.driverError as { code?: unknown }).code;
  return typeof code === 'string' && /^2[23]/.test(code);
}

/** Socket errors: the database host could not be found or reached, or dropped the connection. */
const NETWORK_FAILURES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * SQLSTATEs that fault the server's state, not the statement: class 08 (connection
 * exception), too many connections, canceled (statement_timeout), and the server shutting
 * down, crashed or still starting (57P01-57P03).
 */
function isUnavailableState(code: string): boolean {
  return code.startsWith('08') || ['53300', '57014', '57P01', '57P02', '57P03'].includes(code);
}

/** What node-postgres and its pool say, without a code, of a lost connection or one not had in time. */
const LOST_CONNECTION_MESSAGES = [
  /^Connection terminated/,
  /^timeout exceeded when trying to connect$/,
  /^Query read timeout$/,
  /is not queryable$/,
];

function isLostConnection(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const { code } = error as { code?: unknown };
  if (typeof code === 'string' && (NETWORK_FAILURES.has(code) || isUnavailableState(code))) return true;
  // A host name with several addresses: each was tried, and each failed.
  if (error instanceof AggregateError) return error.errors.some(isLostConnection);
  return LOST_CONNECTION_MESSAGES.some((message) => message.test(error.message));
}

/**
 * True when the database could not be reached, would not open a session, dropped the
 * connection or did not answer in time: the same request may succeed once it is back (the
 * pool reconnects by itself), so the client is told to retry rather than shown a bug.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (error instanceof QueryFailedError) return isLostConnection(error.driverError);
  // TypeORM releases a query runner whose connection broke between two statements (of a
  // transaction): the next statement finds it released. Our code never reuses a runner.
  if (error instanceof QueryRunnerAlreadyReleasedError) return true;
  // TypeORM wraps the failure of every statement; a server error that arrives bare refused
  // to open the session (a database not accepting connections, too many clients, a refused login).
  return error instanceof DatabaseError || isLostConnection(error);
}
