import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createAdmin } from '../../src/cli/create-admin.command.js';
import { logIn } from '../factories/auth.js';
import { newRegistration } from '../factories/users.js';
import { runCli, type CliStorage } from '../setup/cli.js';
import { startTestApp, TestDatabase } from '../setup/test-app.js';

const registration = newRegistration();
// The password comes from stdin or a prompt; here, from the test.
vi.mock('../../src/cli/read-password.js', () => ({ readNewPassword: () => Promise.resolve(registration.password) }));

/** `npm run cli -- create-admin` as an operator runs it, then the admin signs in to the server. */
describe('CLI: create-admin', () => {
  let database: TestDatabase | undefined;
  let dataDir: string | undefined;
  const storage = (): CliStorage => (database ? { DATABASE_URL: database.url } : { DATA_DIR: dataDir as string });

  beforeAll(async () => {
    if (process.env.DATABASE_URL) database = (await TestDatabase.create(process.env.DATABASE_URL)).retain();
    else dataDir = await mkdtemp(join(tmpdir(), 'create-admin-'));
  });
  afterAll(async () => {
    await database?.release();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('should create an admin, its email taken as verified, who can then sign in with the admin permissions', async () => {
    const { code, stdout } = await runCli(createAdmin, ['--email', registration.email], storage());
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Created admin /);

    // The default EMAIL_VERIFICATION: an unverified account could not sign in at all.
    const mandatory = { EMAIL_VERIFICATION: 'mandatory' };
    const t = await startTestApp(database ? mandatory : { ...storage(), ...mandatory }, database ? { database } : {});
    try {
      const tokens = await logIn(t.http, registration);
      const me = await t.http.get('/api/v1/auth/me').set('Authorization', `Bearer ${tokens.access_token}`);
      expect(me.status).toBe(200);
      expect(me.body.roles).toContain('admin');
      // The command wrote its audit event, as a change of roles on the server would.
      expect(
        await t.app
          .get(DataSource)
          .query(`SELECT action, outcome, actor_id, target FROM audit_events WHERE action = 'user.create-admin'`),
      ).toEqual([{ action: 'user.create-admin', outcome: 'success', actor_id: null, target: me.body.id }]);
      expect(me.body.emailVerified).toBe(true);
    } finally {
      await t.close();
    }
  });
});
