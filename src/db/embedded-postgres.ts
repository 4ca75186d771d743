import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { createPgConfig, type PGlitePgConfig } from '@electric-sql/pglite/node-postgres';
import { DataDirLockedError } from './data-dir-locked.error.js';

function isAlive(pid: number): boolean {
  if (pid === process.pid) return false; // a lock left by an earlier process that had our pid
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes an exclusive lock on `dir` for this process. PGlite is a single-process database:
 * two processes writing one data folder would corrupt it, so the second must stop here.
 * A lock whose process is gone is stale and taken over.
 */
function acquireLock(lockPath: string, dir: string): void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockPath, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number.parseInt(readFileSync(lockPath, 'utf8'), 10);
      if (Number.isInteger(holder) && isAlive(holder)) throw new DataDirLockedError(dir, holder);
      rmSync(lockPath, { force: true });
    }
  }
  throw new Error(`Could not lock ${dir}`);
}

/**
 * The development database: Postgres compiled to WASM (PGlite), persisted under DATA_DIR,
 * reached through its node-postgres adapter so TypeORM's postgres driver and our migrations
 * are the same as in production.
 */
export class EmbeddedPostgres {
  private constructor(
    readonly pglite: PGlite,
    readonly pgConfig: PGlitePgConfig,
    private readonly lockPath: string | undefined,
  ) {}

  /** `dataDir` = undefined keeps the database in memory (tests). */
  static open(dataDir: string | undefined): EmbeddedPostgres {
    if (dataDir === undefined) {
      const pglite = new PGlite('memory://');
      return new EmbeddedPostgres(pglite, createPgConfig(pglite), undefined);
    }
    const dir = join(dataDir, 'pgdata');
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const lockPath = join(dataDir, 'pgdata.lock');
    acquireLock(lockPath, dir);
    try {
      const pglite = new PGlite(dir);
      return new EmbeddedPostgres(pglite, createPgConfig(pglite), lockPath);
    } catch (error) {
      rmSync(lockPath, { force: true });
      throw error;
    }
  }

  /**
   * Closes this database (and frees its folder lock) right after `dataSource` is destroyed,
   * once the pool has let go of its one connection: whoever destroys the DataSource (Nest at
   * shutdown, the TypeORM CLI when done) closes the database with it.
   */
  closeWith(dataSource: { destroy: () => Promise<void> }): void {
    const destroy = dataSource.destroy.bind(dataSource);
    dataSource.destroy = async () => {
      try {
        await destroy();
      } finally {
        await this.close();
      }
    };
  }

  async close(): Promise<void> {
    try {
      if (!this.pglite.closed) await this.pglite.close();
    } finally {
      if (this.lockPath) rmSync(this.lockPath, { force: true });
    }
  }
}
