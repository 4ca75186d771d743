import { existsSync } from 'node:fs';
import { ConfigError, loadConfig } from '../config/app-config.js';
import { openDataSource } from './database.module.js';
import { DataDirLockedError } from './data-dir-locked.error.js';
import { migrate } from './migrate.js';

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
    const applied = await migrate(config, dataSource, config.db.url === undefined);
    const lines = applied.length > 0 ? applied.map((name) => `Applied ${name}`) : ['No pending migrations.'];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await dataSource.destroy();
  }
}

main().catch((error: unknown) => {
  const known = error instanceof ConfigError || error instanceof DataDirLockedError;
  const message = known ? (error as Error).message : `Migrations failed: ${(error as Error)?.message ?? String(error)}`;
  process.stderr.write(`${message}\n`);
  process.exitCode = 1;
});
