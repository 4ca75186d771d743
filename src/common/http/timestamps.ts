import { applyDecorators } from '@nestjs/common';
import { IsDate, MaxDate, MinDate } from 'class-validator';

/**
 * The instants this API takes: years 1 to 9999, as ISO 8601 writes them with four digits.
 * A JavaScript date reaches back to 271821 BC, but a Postgres timestamp stops at 4713 BC:
 * an earlier date is the client's mistake (400), never a database error (500).
 */
export const EARLIEST_TIMESTAMP = new Date('0001-01-01T00:00:00.000Z');
export const LATEST_TIMESTAMP = new Date('9999-12-31T23:59:59.999Z');

export function isStorableTimestamp(date: Date): boolean {
  const time = date.getTime();
  return time >= EARLIEST_TIMESTAMP.getTime() && time <= LATEST_TIMESTAMP.getTime();
}

/** `@IsDate()`, within the years a timestamp column holds. */
export function IsTimestamp(): PropertyDecorator {
  const message = '$property must be a date-time from year 1 to 9999';
  return applyDecorators(IsDate(), MinDate(EARLIEST_TIMESTAMP, { message }), MaxDate(LATEST_TIMESTAMP, { message }));
}
