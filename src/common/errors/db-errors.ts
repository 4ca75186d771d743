import { QueryFailedError } from 'typeorm';

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
