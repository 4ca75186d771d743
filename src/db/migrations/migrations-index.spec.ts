import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { migrations } from './index.js';

type MigrationClass = new () => unknown;

const folder = new URL('./', import.meta.url);
const files = readdirSync(folder)
  .filter((file) => file.endsWith('.ts') && file !== 'index.ts' && !file.endsWith('.spec.ts'))
  .sort();

/** TypeORM orders migrations by the 13-digit timestamp that ends the class name. */
function timestampOf(className: string): number {
  return Number(/(\d{13})$/.exec(className)?.[1]);
}

async function exportedClasses(file: string): Promise<MigrationClass[]> {
  const module = (await import(new URL(file, folder).href)) as Record<string, unknown>;
  return Object.values(module).filter((value): value is MigrationClass => typeof value === 'function');
}

describe('migrations', () => {
  it('should list the migration of every file in the folder', async () => {
    for (const file of files) {
      const classes = await exportedClasses(file);
      expect(classes, `${file} should export one migration class`).toHaveLength(1);
      expect(migrations, `${file}: add ${classes[0]?.name} to migrations in index.ts`).toContain(classes[0]);
    }
  });

  it('should list nothing but those migrations', async () => {
    const fromFiles = (await Promise.all(files.map(exportedClasses))).flat();
    expect(migrations).toHaveLength(fromFiles.length);
  });

  it('should name each file after the timestamp of its class', async () => {
    for (const file of files) {
      const [migration] = await exportedClasses(file);
      expect(file.startsWith(`${timestampOf(migration?.name ?? '')}-`), file).toBe(true);
    }
  });

  it('should list them in timestamp order, oldest first', () => {
    const timestamps = migrations.map((migration) => timestampOf(migration.name));
    expect(timestamps.every(Number.isInteger), 'every class name should end in a timestamp').toBe(true);
    expect(timestamps).toEqual([...timestamps].sort((a, b) => a - b));
    expect(new Set(timestamps).size, 'timestamps should be unique').toBe(timestamps.length);
  });
});
