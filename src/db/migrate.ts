import { DataSource } from 'typeorm';
import type { AppConfig } from '../config/app-config.js';
import { dataSourceOptions } from './data-source-options.js';
import { applyDatabaseRoles, roleOf } from './database-roles.js';

// Arbitrary constant: every instance of this app takes the same advisory lock.
const MIGRATION_LOCK_ID = 7_241_991;

/**
 * Runs pending migrations, all in one transaction. On a real Postgres, instances that boot
 * together serialize on an advisory lock, so exactly one applies each migration.
 */
export async function runMigrations(dataSource: DataSource, embedded: boolean): Promise<string[]> {
  const names = (applied: { name: string }[]) => applied.map((migration) => migration.name);
  if (embedded) {
    // One connection and one process (the data-folder lock): nothing to serialize against,
    // and a lock held on the only connection would block the migration itself.
    return names(await dataSource.runMigrations({ transaction: 'all' }));
  }
  const lockRunner = dataSource.createQueryRunner();
  await lockRunner.connect();
  try {
    await lockRunner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
    // What this process applied: an instance that waited on the lock applied nothing.
    return names(await dataSource.runMigrations({ transaction: 'all' }));
  } finally {
    await lockRunner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_ID]).catch(() => {});
    await lockRunner.release();
  }
}

/**
 * Migrations, then the role grants and the retention horizon, as the owner role: through
 * DATABASE_MIGRATION_URL when it names another role than DATABASE_URL (its own small pool,
 * closed when done), else through the server's own `dataSource` (one role for both). The
 * names of the migrations this process applied.
 */
export async function migrate(config: AppConfig, dataSource: DataSource, embedded: boolean): Promise<string[]> {
  const { url, migrationUrl } = config.db;
  const settings = { appRole: undefined, auditRetentionSeconds: config.retention.auditSeconds };
  if (embedded || !url || !migrationUrl || roleOf(migrationUrl) === roleOf(url)) {
    const applied = await runMigrations(dataSource, embedded);
    await applyDatabaseRoles(dataSource, settings);
    return applied;
  }
  // Two connections: one holds the advisory lock while the other migrates.
  const owner = new DataSource(dataSourceOptions({ ...config.db, url: migrationUrl, poolSize: 2 }, undefined));
  await owner.initialize();
  try {
    const applied = await runMigrations(owner, false);
    await applyDatabaseRoles(owner, { ...settings, appRole: roleOf(url) });
    return applied;
  } finally {
    await owner.destroy();
  }
}
