import { QueryFailedError } from 'typeorm';

/** True when a query failed on the named unique constraint (Postgres error 23505). */
export function isUniqueViolation(error: unknown, constraint: string): boolean {
  if (!(error instanceof QueryFailedError)) return false;
  const driverError = error.driverError as { code?: string; constraint?: string };
  return driverError.code === '23505' && driverError.constraint === constraint;
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
