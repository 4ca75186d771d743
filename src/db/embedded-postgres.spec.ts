import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DataDirLockedError } from './data-dir-locked.error.js';
import { EmbeddedPostgres } from './embedded-postgres.js';

// initdb of a fresh on-disk PGlite takes seconds.
describe(EmbeddedPostgres.name, { timeout: 60_000 }, () => {
  const dirs: string[] = [];
  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'embedded-'));
    dirs.push(dir);
    return dir;
  };
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('should refuse a second open of the same folder while the first holds it', async () => {
    const dir = tempDir();
    const first = EmbeddedPostgres.open(dir);
    try {
      // The lock names a live process other than ours: that is what a second server sees.
      writeFileSync(join(dir, 'pgdata.lock'), String(process.ppid));
      expect(() => EmbeddedPostgres.open(dir)).toThrow(DataDirLockedError);
      expect(() => EmbeddedPostgres.open(dir)).toThrow(/already in use by process \d+/);
    } finally {
      await first.close();
    }
  });

  it('should take over a lock left by a process that is gone, and keep the data', async () => {
    const dir = tempDir();
    const first = EmbeddedPostgres.open(dir);
    await first.pglite.exec('CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)');
    await first.close();
    writeFileSync(join(dir, 'pgdata.lock'), '2147483646');
    const second = EmbeddedPostgres.open(dir);
    try {
      const result = await second.pglite.query<{ v: number }>('SELECT v FROM kept');
      expect(result.rows).toEqual([{ v: 42 }]);
    } finally {
      await second.close();
    }
  });
});
