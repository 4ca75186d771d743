import pg from 'pg';
import { vi } from 'vitest';

/**
 * Every statement reaches the database through node-postgres's Client#query: TypeORM's
 * postgres driver uses it for Postgres and, through PGlite's node-postgres adapter, for
 * the embedded database as well. Spying there counts what really goes out.
 */
export function spyOnSql() {
  const query = vi.spyOn(pg.Client.prototype, 'query');
  return {
    /** The statements since the last reset, as text, so a failure shows what ran. */
    statements: () => query.mock.calls.map(([sql]) => (typeof sql === 'string' ? sql : (sql as pg.QueryConfig).text)),
    /** The name of each statement since the last reset; undefined for an unnamed (unprepared) one. */
    names: () => query.mock.calls.map(([sql]) => (typeof sql === 'string' ? undefined : (sql as pg.QueryConfig).name)),
    /** The statements one connection sent since the last reset, in order; `client` is its `this`. */
    statementsOf: (client: unknown) =>
      query.mock.calls
        .filter((_, i) => query.mock.contexts[i] === client)
        .map(([sql]) => (typeof sql === 'string' ? sql : (sql as pg.QueryConfig).text)),
    /** The connection that sent the statement named `name` first, since the last reset. */
    clientOf: (name: string) =>
      query.mock.contexts[
        query.mock.calls.findIndex(([sql]) => typeof sql !== 'string' && (sql as pg.QueryConfig).name === name)
      ],
    reset: () => query.mockClear(),
  };
}
