import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Agent } from 'node:http';
import { createServer, type Server } from 'node:net';
import request from 'supertest';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { generateKeySet } from '../../src/modules/auth/jwt/signing-keys.js';
import { logIn, signedIn } from '../factories/auth.js';
import { freePort } from '../factories/oauth.js';
import { ServerProcess } from '../setup/server-process.js';
import { LOCAL_POSTGRES } from '../setup/services.js';
import { describeWithSharedServices, TEST_REDIS_URL, TestDatabase } from '../setup/test-app.js';
import { bearer } from '../support/http.js';

/** A build, the migrations and two worker boots, on a busy two-core machine. */
const BOOT_WITHIN_MS = 180_000;
const REVOKED_WITHIN_MS = 1_000;
/** The restart back-off (1 s) and a boot, on a busy machine. */
const RESTARTED_WITHIN_MS = 60_000;
const POLL_EVERY_MS = 50;

const secret = () => randomBytes(32).toString('base64url');

/** The worker processes of a primary, by their pids (its children). */
function workersOf(primary: number): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(primary)], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    return []; // pgrep exits 1 when there are none
  }
}

/**
 * A request on a connection of its own: node:cluster hands each new connection to the next
 * worker in turn, so a run of these reaches every worker.
 */
const onNewConnection = () => new Agent({ keepAlive: false });

/**
 * WEB_CONCURRENCY=2: one primary, two worker processes on one port, each a whole instance of
 * the server sharing Postgres and Redis, as separate instances do.
 */
describeWithSharedServices('WEB_CONCURRENCY: worker processes on one port', () => {
  let database: TestDatabase;
  let server: ServerProcess;
  let env: Record<string, string>;

  beforeAll(async () => {
    database = (await TestDatabase.create(process.env.DATABASE_URL || LOCAL_POSTGRES)).retain();
    env = {
      NODE_ENV: 'test',
      // The primary says at info when every worker listens.
      LOG_LEVEL: 'info',
      WEB_CONCURRENCY: '2',
      DATA_DIR: ':memory:',
      DATABASE_URL: database.url,
      REDIS_URL: TEST_REDIS_URL,
      REDIS_KEY_PREFIX: `test:${randomBytes(6).toString('hex')}:`,
      JWT_KEYS: JSON.stringify(await generateKeySet()),
      CSRF_SECRET: secret(),
      MFA_ENCRYPTION_KEY: secret(),
      API_KEY_PEPPER: secret(),
      OAUTH_COOKIE_KEYS: secret(),
      RATE_LIMIT_AUTH: '1000/min',
      SHUTDOWN_GRACE: '0',
    };
    // The first worker migrates the fresh database alone; the second boots once it listens.
    server = await ServerProcess.start('two workers', env);
    await vi.waitFor(() => expect(server.log).toContain('2 workers share the port'), {
      timeout: BOOT_WITHIN_MS,
      interval: POLL_EVERY_MS,
    });
  }, BOOT_WITHIN_MS);

  afterAll(async () => {
    await database?.release();
  });

  it(
    'should serve from two worker processes, and replace one that dies',
    async () => {
      const workers = workersOf(server.pid);
      expect(workers).toHaveLength(2);

      process.kill(workers[0]!, 'SIGKILL');
      const replaced = await vi.waitFor(
        () => {
          const now = workersOf(server.pid);
          expect(now).toHaveLength(2);
          expect(now).not.toContain(workers[0]);
          return now;
        },
        { timeout: RESTARTED_WITHIN_MS, interval: POLL_EVERY_MS },
      );
      expect(replaced).toContain(workers[1]);
      expect(server.log).toMatch(/a worker died; starting another/);
      // The port kept serving: new connections go to the workers that listen.
      for (let i = 0; i < 4; i++) {
        const res = await request(server.origin).get('/health/live').agent(onNewConnection()).timeout(5_000);
        expect(res.status).toBe(200);
      }
    },
    RESTARTED_WITHIN_MS + 5_000,
  );

  it('should refuse on every worker a token revoked through one', async () => {
    const http = request(server.origin);
    const { user, tokens } = await signedIn(http);
    const me = () =>
      request(server.origin).get('/api/v1/auth/me').agent(onNewConnection()).set(bearer(tokens.access_token));
    // Four connections, taken in turn: each worker answers at least one.
    for (let i = 0; i < 4; i++) expect((await me()).status).toBe(200);

    // Signing out everywhere from another sign-in ends the first one's token.
    const other = await logIn(http, user);
    const out = await http.post('/api/v1/auth/sign-out-everywhere').set(bearer(other.access_token));
    expect(out.status).toBe(204);

    await vi.waitFor(
      async () => {
        const statuses = await Promise.all([me(), me(), me(), me()].map(async (pending) => (await pending).status));
        expect(statuses).toEqual([401, 401, 401, 401]);
      },
      { timeout: REVOKED_WITHIN_MS, interval: POLL_EVERY_MS },
    );
  });

  it('should stop every worker in order on SIGTERM, and exit 0', async () => {
    const workers = workersOf(server.pid);
    expect(workers).toHaveLength(2);
    await server.stop(); // rejects unless the primary exits 0
    for (const pid of workers) expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
  });

  it(
    'should stop, with the failure, when a worker cannot start, rather than restart it in a loop',
    async () => {
      const port = await freePort();
      // It hangs up at once, so the readiness probe fails fast rather than wait on it.
      const taken: Server = createServer((socket) => socket.destroy());
      await new Promise<void>((resolve) => taken.listen(port, '127.0.0.1', resolve));
      try {
        await expect(ServerProcess.start('workers on a taken port', env, [], port)).rejects.toThrow(
          /exited before it was ready[\s\S]*a worker failed to start/,
        );
      } finally {
        taken.close();
      }
    },
    BOOT_WITHIN_MS,
  );
});
