import { existsSync } from 'node:fs';
import type { DataSource } from 'typeorm';
import { ConfigError, loadConfig } from '../config/app-config.js';
import { openDataSource } from './database.module.js';
import { DataDirLockedError } from './embedded-postgres.js';
import { runMigrations } from './migrate.js';

/**
 * `node dist/db/run-migrations.js` (`npm run migration:run`, docker-compose's `migrate`):
 * applies pending migrations under the advisory lock, whatever DB_MIGRATIONS_RUN says.
 */
async function main(): Promise<void> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  const config = loadConfig(process.env);
  // Opened without running them, so this run can report what it applied.
  const dataSource = await openDataSource({
    ...config,
    db: { ...config.db, migrationsRun: false },
  });
  try {
    const applied = await runAndList(dataSource, config.db.url === undefined);
    const lines = applied.length > 0 ? applied.map((name) => `Applied ${name}`) : ['No pending migrations.'];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await dataSource.destroy();
  }
}

/**
 * The names this process applied. Read from what TypeORM ran once it held the lock, not
 * from before/after snapshots: an instance that waited on the lock applied nothing.
 */
async function runAndList(dataSource: DataSource, embedded: boolean): Promise<string[]> {
  const applied: string[] = [];
  const run = dataSource.runMigrations.bind(dataSource);
  dataSource.runMigrations = async (options) => {
    const migrations = await run(options);
    applied.push(...migrations.map((migration) => migration.name));
    return migrations;
  };
  await runMigrations(dataSource, embedded);
  return applied;
}

main().catch((error: unknown) => {
  const known = error instanceof ConfigError || error instanceof DataDirLockedError;
  const message = known ? (error as Error).message : `Migrations failed: ${(error as Error)?.message ?? String(error)}`;
  process.stderr.write(`${message}\n`);
  process.exitCode = 1;
});
