import pg from 'pg';
import { vi } from 'vitest';

type Sent = string | pg.QueryConfig;

const textOf = (sql: Sent): string => (typeof sql === 'string' ? sql : sql.text);
/** Undefined for an unnamed (unprepared) statement. */
const nameOf = (sql: Sent): string | undefined => (typeof sql === 'string' ? undefined : sql.name);

/**
 * Every statement reaches the database through node-postgres's Client#query: TypeORM's
 * postgres driver uses it for Postgres and, through PGlite's node-postgres adapter, for
 * the embedded database as well. Spying there counts what really goes out.
 */
export function spyOnSql() {
  const query = vi.spyOn(pg.Client.prototype, 'query');
  const sent = () => query.mock.calls.map(([sql]) => sql as Sent);
  return {
    /** The statements since the last reset, as text, so a failure shows what ran. */
    statements: () => sent().map(textOf),
    /** The name of each statement since the last reset; undefined for an unnamed (unprepared) one. */
    names: () => sent().map(nameOf),
    /** The statements one connection sent since the last reset, in order; `client` is its `this`. */
    statementsOf: (client: unknown) =>
      sent()
        .filter((_, i) => query.mock.contexts[i] === client)
        .map(textOf),
    /** The connection that sent the statement named `name` first, since the last reset. */
    clientOf: (name: string) => query.mock.contexts[sent().findIndex((sql) => nameOf(sql) === name)],
    reset: () => query.mockClear(),
  };
}
