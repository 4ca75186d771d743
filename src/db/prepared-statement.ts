import type { Pool, QueryResultRow } from 'pg';
import { QueryFailedError, type DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver.js';

/**
 * The node-postgres pool under a TypeORM data source. The embedded database is reached through
 * the same driver (PGlite's node-postgres adapter), so it has one too.
 */
export function connectionPool(dataSource: DataSource): Pool {
  return (dataSource.driver as PostgresDriver).master as Pool;
}

/**
 * A statement that Postgres parses and plans once per connection and then only binds and
 * runs: a node-postgres named statement. TypeORM sends every statement unnamed, so Postgres
 * parses and plans it again each time; for the one-row resource read that was a third of the
 * database's work (node-postgres alone, 32 reads at a time on this project's 2-core machine:
 * 20,000 a second unnamed, 30,000 named). For the few hottest statements only: each name
 * holds a plan on every pooled connection.
 *
 * It runs on the pool, outside any transaction, so it is for statements that stand alone (one
 * statement is atomic by itself). Errors come wrapped as TypeORM wraps every other
 * statement's, for `db-errors.ts` to read.
 */
export class PreparedStatement<Row extends QueryResultRow> {
  /** `name` must be unique to `text`: node-postgres refuses one name for two texts. */
  constructor(
    readonly name: string,
    readonly text: string,
  ) {}

  async rows(dataSource: DataSource, values: unknown[]): Promise<Row[]> {
    // A connection that cannot be had fails bare, as it does under TypeORM's query runner.
    const connection = await connectionPool(dataSource).connect();
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

/**
 * Prepared statements whose text a caller assembles (a list with optional filters and a
 * cursor): each distinct text is named `<prefix>-<n>` the first time it is asked for, so a
 * name never stands for two texts. The texts must come from code, values always being
 * parameters: then there are only as many as the code can write, and the map stays small.
 */
export class PreparedStatementFamily<Row extends QueryResultRow> {
  private readonly byText = new Map<string, PreparedStatement<Row>>();

  constructor(private readonly prefix: string) {}

  for(text: string): PreparedStatement<Row> {
    let statement = this.byText.get(text);
    if (!statement) {
      statement = new PreparedStatement<Row>(`${this.prefix}-${this.byText.size}`, text);
      this.byText.set(text, statement);
    }
    return statement;
  }
}
