import type { TestProject } from 'vitest/node';
import { createTemplateDatabase, dropDatabase } from './databases.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Migrated database that each e2e file clones; undefined: embedded database. */
    templateDatabase: string | undefined;
  }
}

/**
 * With DATABASE_URL (CI), migrate one template database on that Postgres; each test file
 * clones it, which is much faster than migrating per file. Without it, the suite runs on
 * the embedded database, one in memory per app.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    project.provide('templateDatabase', undefined);
    return async () => {};
  }
  const template = await createTemplateDatabase(adminUrl);
  project.provide('templateDatabase', template);
  return () => dropDatabase(adminUrl, template);
}
