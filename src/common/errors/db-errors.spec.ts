import { DatabaseError } from 'pg';
import { QueryFailedError, QueryRunnerAlreadyReleasedError } from 'typeorm';
import { describe, expect, it } from 'vitest';
import { isDatabaseUnavailable } from './db-errors.js';

function serverError(code: string, message = 'from the server'): DatabaseError {
  const error = new DatabaseError(message, message.length, 'error');
  error.code = code;
  return error;
}

function failedStatement(driverError: Error): QueryFailedError {
  return new QueryFailedError('INSERT INTO resources ...', [], driverError);
}

function socketError(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`connect ${code} 10.0.0.5:5432`), { code });
}

describe(isDatabaseUnavailable.name, () => {
  it('should see a statement cut off with its connection', () => {
    for (const code of ['57P01', '57P02', '57P03', '08006', '08003', '53300', '57014']) {
      expect(isDatabaseUnavailable(failedStatement(serverError(code))), code).toBe(true);
    }
    expect(isDatabaseUnavailable(failedStatement(new Error('Connection terminated unexpectedly')))).toBe(true);
    expect(isDatabaseUnavailable(failedStatement(new Error('Query read timeout')))).toBe(true);
    expect(isDatabaseUnavailable(new QueryRunnerAlreadyReleasedError())).toBe(true);
  });

  it('should see a session the database would not open, or a host out of reach', () => {
    // Bare: raised while connecting, before TypeORM had a statement to wrap it in.
    expect(isDatabaseUnavailable(serverError('55000', 'database "app" is not currently accepting connections'))).toBe(
      true,
    );
    expect(isDatabaseUnavailable(serverError('28P01', 'password authentication failed'))).toBe(true);
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND']) {
      expect(isDatabaseUnavailable(socketError(code)), code).toBe(true);
    }
    expect(isDatabaseUnavailable(new AggregateError([socketError('ECONNREFUSED'), socketError('ECONNREFUSED')]))).toBe(
      true,
    );
    expect(isDatabaseUnavailable(new Error('timeout exceeded when trying to connect'))).toBe(true);
    expect(isDatabaseUnavailable(new Error('Connection terminated due to connection timeout'))).toBe(true);
  });

  it('should leave a statement the database refused for what it says to the bugs and the client errors', () => {
    // 55000 from a statement (e.g. currval before nextval) is a bug, not an outage.
    for (const code of ['42P01', '42703', '23505', '22P02', '55000', '40001']) {
      expect(isDatabaseUnavailable(failedStatement(serverError(code))), code).toBe(false);
    }
    expect(isDatabaseUnavailable(new TypeError("Cannot read properties of undefined (reading 'id')"))).toBe(false);
    expect(isDatabaseUnavailable(new AggregateError([new Error('one'), new Error('two')]))).toBe(false);
    expect(isDatabaseUnavailable('Connection terminated')).toBe(false);
    expect(isDatabaseUnavailable(undefined)).toBe(false);
  });
});
