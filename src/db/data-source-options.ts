import type { DataSourceOptions } from 'typeorm';
import type { AppConfig } from '../config/app-config.js';
import type { EmbeddedPostgres } from './embedded-postgres.js';
import { entities } from './entities.js';
import { migrations } from './migrations/index.js';

/**
 * The one TypeORM configuration, shared by the app, the migration CLI and the tests, so a
 * schema change is made once. The embedded database goes through the same postgres driver.
 */
export function dataSourceOptions(db: AppConfig['db'], embedded: EmbeddedPostgres | undefined): DataSourceOptions {
  const common = {
    type: 'postgres' as const,
    entities,
    migrations,
    migrationsTableName: 'schema_migrations',
    // Schema changes go through migrations only, and run under an advisory lock (migrate.ts).
    synchronize: false,
    migrationsRun: false,
    // Failed-query logs would carry SQL and parameters (hashes, emails); errors are logged
    // by the problem-details filter without them.
    logging: false,
  };
  if (embedded) {
    return {
      ...common,
      // PGlite is one connection; no extension install (uuids come from gen_random_uuid()).
      installExtensions: false,
      extra: { ...embedded.pgConfig, max: 1 },
    };
  }
  return {
    ...common,
    url: db.url,
    poolSize: db.poolSize,
    applicationName: 'nest-secure-api',
    // pg-pool applies it to waiting for a free connection of a full pool as well.
    connectTimeoutMS: db.connectTimeoutMs,
    extra: statementTimeouts(db.queryTimeoutMs),
  };
}

/** How much longer than the server's own limit the client waits for an answer. */
const SILENT_SERVER_MARGIN_MS = 1_000;

/**
 * Postgres cancels a statement that runs past the limit and the connection stays usable;
 * the client gives up a moment later on its own, for when no answer can come at all (the
 * server gone silent behind a broken network).
 */
function statementTimeouts(limitMs: number): { statement_timeout?: number; query_timeout?: number } {
  if (limitMs === 0) return {};
  return { statement_timeout: limitMs, query_timeout: limitMs + SILENT_SERVER_MARGIN_MS };
}
