import { Module, type DynamicModule } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { AppConfig } from '../config/app-config.js';
import { dataSourceOptions } from './data-source-options.js';
import { DataDirLockedError } from './data-dir-locked.error.js';
import { EmbeddedPostgres } from './embedded-postgres.js';
import { migrate } from './migrate.js';

/**
 * Postgres through TypeORM: the real one when DATABASE_URL is set, else the embedded PGlite
 * under DATA_DIR. Migrations run at boot unless DB_MIGRATIONS_RUN=false, as the owner role of
 * DATABASE_MIGRATION_URL when it is set (src/db/migrate.ts).
 */
@Module({})
export class DatabaseModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: DatabaseModule,
      imports: [
        TypeOrmModule.forRootAsync({
          useFactory: () => ({
            ...dataSourceOptions(config.db, undefined),
            // A locked data folder will not unlock by retrying: fail at once with its message.
            toRetry: (error: unknown) => !(error instanceof DataDirLockedError),
          }),
          dataSourceFactory: () => openDataSource(config),
        }),
      ],
    };
  }
}

export async function openDataSource(config: AppConfig): Promise<DataSource> {
  const embedded = config.db.url ? undefined : EmbeddedPostgres.open(config.app.dataDir);
  const dataSource = new DataSource(dataSourceOptions(config.db, embedded));
  try {
    await dataSource.initialize();
    if (config.db.migrationsRun) await migrate(config, dataSource, embedded !== undefined);
  } catch (error) {
    if (dataSource.isInitialized) await dataSource.destroy();
    await embedded?.close();
    throw error;
  }
  embedded?.closeWith(dataSource);
  return dataSource;
}
