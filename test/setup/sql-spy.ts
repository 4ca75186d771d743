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
    statements: () => query.mock.calls.map(([sql]) => (typeof sql === 'string' ? sql : JSON.stringify(sql))),
    reset: () => query.mockClear(),
  };
}
