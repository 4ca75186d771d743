import type { Pool, QueryResultRow } from 'pg';
import { QueryFailedError, type DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver.js';

/**
 * A statement that Postgres parses and plans once per connection and then only binds and
 * runs: a node-postgres named statement. TypeORM sends every statement unnamed, so Postgres parses
 * and plans it again each time; for the one-row resource read that was a third of the
 * database's work (node-postgres alone, 32 reads at a time on this project's 2-core machine:
 * 20,000 a second unnamed, 30,000 named). For the few hottest reads only: each name holds a
 * plan on every pooled connection.
 *
 * It runs on the pool, outside any transaction, so it is for statements that stand alone (one
 * statement is atomic by itself). Errors
 * come wrapped as TypeORM wraps every other statement's, for `db-errors.ts` to read.
 */
export class PreparedStatement<Row extends QueryResultRow> {
  /** `name` must be unique to `text`: node-postgres refuses one name for two texts. */
  constructor(
    readonly name: string,
    readonly text: string,
  ) {}

  async rows(dataSource: DataSource, values: unknown[]): Promise<Row[]> {
    // The embedded database is reached through the same driver (PGlite's node-postgres adapter).
    const pool = (dataSource.driver as PostgresDriver).master as Pool;
    // A connection that cannot be had fails bare, as it does under TypeORM's query runner.
    const connection = await pool.connect();
    // pg-pool listens for a connection's errors only while it is idle. One that breaks while
    // held here (the server ending the session right behind the answer, in the same packet)
    // would otherwise throw an uncaught exception and stop the process; this keeps its error
    // so that the pool drops it instead of lending it again.
    let broken: Error | undefined;
    const onError = (error: Error): void => {
      broken = error;
    };
    connection.on('error', onError);
    try {
      return (await connection.query<Row>({ name: this.name, text: this.text, values })).rows;
    } catch (error) {
      // As pg-pool's own query(): after a failed statement the connection goes too.
      broken ??= error as Error;
      throw new QueryFailedError(this.text, values, error as Error);
    } finally {
      connection.off('error', onError);
      connection.release(broken);
    }
  }
}
