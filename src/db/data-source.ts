import { existsSync } from 'node:fs';
import { DataSource } from 'typeorm';
import { loadConfig } from '../config/app-config.js';
import { dataSourceOptions } from './data-source-options.js';
import { EmbeddedPostgres } from './embedded-postgres.js';

/**
 * The DataSource of the TypeORM CLI, built from the same configuration as the server:
 * `npm run migration:generate -- src/db/migrations/<name>` compares the entities with the
 * database at DATABASE_URL, or with the embedded one under DATA_DIR (which must not be in
 * use by a running server). Add the generated class to `migrations` in migrations/index.ts.
 * Only the CLI imports this file: importing it opens the database.
 */
if (existsSync('.env')) process.loadEnvFile('.env');
const config = loadConfig(process.env);
const embedded = config.db.url ? undefined : EmbeddedPostgres.open(config.app.dataDir);
const dataSource = new DataSource(dataSourceOptions(config.db, embedded));

// The CLI destroys the DataSource when done; the embedded database and its lock go with it.
embedded?.closeWith(dataSource);

export default dataSource;
