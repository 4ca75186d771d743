import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createAdmin } from '../../src/cli/create-admin.command.js';
import { logIn } from '../factories/auth.js';
import { newRegistration } from '../factories/users.js';
import { startTestApp, TestDatabase } from '../setup/test-app.js';

const registration = newRegistration();
// The password comes from stdin or a prompt; here, from the test.
vi.mock('../../src/cli/read-password.js', () => ({ readNewPassword: () => Promise.resolve(registration.password) }));

/** `npm run cli -- create-admin` as an operator runs it, then the admin signs in to the server. */
describe('CLI: create-admin', () => {
  const savedEnv = { ...process.env };
  let database: TestDatabase | undefined;
  let dataDir: string | undefined;
  const storage = (): Record<string, string> =>
    database ? { DATABASE_URL: database.url } : { DATA_DIR: dataDir as string };

  beforeAll(async () => {
    if (process.env.DATABASE_URL) database = (await TestDatabase.create(process.env.DATABASE_URL)).retain();
    else dataDir = await mkdtemp(join(tmpdir(), 'create-admin-'));
  });
  afterAll(async () => {
    process.env = { ...savedEnv };
    await database?.release();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('should create an admin who can then sign in with the admin permissions', async () => {
    process.env = { ...savedEnv, NODE_ENV: 'test', LOG_LEVEL: 'warn', ...storage() };
    if (!database) delete process.env.DATABASE_URL;
    let stdout = '';
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stdout += chunk.toString();
      return true;
    });
    let code: number;
    try {
      code = await createAdmin.run(['--email', registration.email]);
    } finally {
      write.mockRestore();
      process.env = { ...savedEnv };
    }
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Created admin /);

    const t = await startTestApp(database ? {} : storage(), database ? { database } : {});
    try {
      const tokens = await logIn(t.http, registration);
      const me = await t.http.get('/api/v1/auth/me').set('Authorization', `Bearer ${tokens.access_token}`);
      expect(me.status).toBe(200);
      expect(me.body.roles).toContain('admin');
    } finally {
      await t.close();
    }
  });
});
