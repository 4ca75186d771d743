import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { loadConfig } from '../../src/config/app-config.js';
import { openDataSource } from '../../src/db/database.module.js';

export function databaseUrl(adminUrl: string, database: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

async function withAdmin<T>(adminUrl: string, run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

/**
 * The login role an app runs as in tests of least privilege (test/e2e/audit-least-privilege):
 * it owns nothing; the migrations, run as the admin role, grant it what the server needs.
 * Shared by every database of the cluster, like a deployment's app role.
 */
export const TEST_APP_ROLE = 'nsa_test_app';

/** Creates the app role once per cluster; test runs in parallel may race to it. */
export async function ensureAppRole(adminUrl: string): Promise<void> {
  await withAdmin(adminUrl, async (c) => {
    try {
      await c.query(`CREATE ROLE ${TEST_APP_ROLE} LOGIN`);
    } catch (error) {
      // 42710 duplicate_object; 23505 when two sessions create it at the same moment.
      if (!['42710', '23505'].includes((error as { code?: string }).code ?? '')) throw error;
    }
  });
}

/** The same database, reached as the app role (trust or password auth as the admin's). */
export function appRoleUrl(url: string): string {
  const appUrl = new URL(url);
  appUrl.username = TEST_APP_ROLE;
  appUrl.password = '';
  return appUrl.toString();
}

/**
 * Migrated as the admin (the owner role), with the app role's grants, so a clone can run
 * as either: as the admin (most tests) or as the app role (tests of least privilege).
 */
export async function createTemplateDatabase(adminUrl: string): Promise<string> {
  const name = `test_template_${process.pid}_${randomBytes(3).toString('hex')}`;
  await ensureAppRole(adminUrl);
  await withAdmin(adminUrl, (c) => c.query(`CREATE DATABASE "${name}"`));
  const url = databaseUrl(adminUrl, name);
  const dataSource = await openDataSource(
    loadConfig({ DATABASE_URL: appRoleUrl(url), DATABASE_MIGRATION_URL: url, NODE_ENV: 'test' }),
  );
  await dataSource.destroy();
  return name;
}

/** A fresh, empty database, where there is no migrated template: the app migrates it at boot. */
export async function createDatabase(adminUrl: string): Promise<string> {
  const name = `test_${randomBytes(6).toString('hex')}`;
  await withAdmin(adminUrl, (c) => c.query(`CREATE DATABASE "${name}"`));
  return name;
}

/** A fresh database for one test file, cloned from the migrated template. */
export async function cloneDatabase(adminUrl: string, template: string): Promise<string> {
  const name = `test_${randomBytes(6).toString('hex')}`;
  await withAdmin(adminUrl, (c) => c.query(`CREATE DATABASE "${name}" TEMPLATE "${template}"`));
  return name;
}

export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  await withAdmin(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
}
