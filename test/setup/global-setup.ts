import type { TestProject } from 'vitest/node';
import { createTemplateDatabase, dropDatabase } from './databases.js';
import { LOCAL_POSTGRES, LOCAL_REDIS, postgresAnswers, redisAnswers } from './services.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Migrated database that each e2e file clones; undefined: embedded database. */
    templateDatabase: string | undefined;
    /** Why tests of several instances cannot run here (no shared Postgres or Redis); undefined: they can. */
    sharedServicesMissing: string | undefined;
  }
}

/**
 * With DATABASE_URL (CI), migrate one template database on that Postgres; each test file
 * clones it, which is much faster than migrating per file. Without it, the suite runs on
 * the embedded database, one in memory per app. Tests of several instances need a shared
 * Postgres and Redis; on a machine without them they say so and do not run (CI has both).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const adminUrl = process.env.DATABASE_URL;
  const postgres = adminUrl ?? LOCAL_POSTGRES;
  const redis = process.env.REDIS_URL || LOCAL_REDIS;
  const missing = [
    ...((await postgresAnswers(postgres)) ? [] : [`no Postgres at ${new URL(postgres).host}`]),
    ...((await redisAnswers(redis)) ? [] : [`no Redis at ${new URL(redis).host}`]),
  ];
  const sharedServicesMissing = missing.length > 0 ? missing.join(' and ') : undefined;
  if (sharedServicesMissing) {
    process.stderr.write(`\nMulti-instance tests will not run: ${sharedServicesMissing}. CI runs them.\n\n`);
  }
  project.provide('sharedServicesMissing', sharedServicesMissing);
  if (!adminUrl) {
    project.provide('templateDatabase', undefined);
    return async () => {};
  }
  const template = await createTemplateDatabase(adminUrl);
  project.provide('templateDatabase', template);
  return () => dropDatabase(adminUrl, template);
}
