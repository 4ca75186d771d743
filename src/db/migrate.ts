import type { DataSource } from 'typeorm';

// Arbitrary constant: every instance of this app takes the same advisory lock.
const MIGRATION_LOCK_ID = 7_241_991;

/**
 * Runs pending migrations, all in one transaction. On a real Postgres, instances that boot
 * together serialize on an advisory lock, so exactly one applies each migration.
 */
export async function runMigrations(dataSource: DataSource, embedded: boolean): Promise<void> {
  if (embedded) {
    // One connection and one process (the data-folder lock): nothing to serialize against,
    // and a lock held on the only connection would block the migration itself.
    await dataSource.runMigrations({ transaction: 'all' });
    return;
  }
  const lockRunner = dataSource.createQueryRunner();
  await lockRunner.connect();
  try {
    await lockRunner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
    await dataSource.runMigrations({ transaction: 'all' });
  } finally {
    await lockRunner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_ID]).catch(() => {});
    await lockRunner.release();
  }
}
