import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { PinoLogger } from 'nestjs-pino';
import { symbols as pinoSymbols } from 'pino';
import request from 'supertest';
import type TestAgent from 'supertest/lib/agent.js';
import { describe, inject } from 'vitest';
import { createApp } from '../../src/app.factory.js';
import { loadConfig, type AppConfig } from '../../src/config/app-config.js';
import { generateKeySet } from '../../src/modules/auth/jwt/signing-keys.js';
import { cloneDatabase, createDatabase, databaseUrl, dropDatabase } from './databases.js';
import { NO_MFA_REQUIRED_ROLES } from './mfa-roles.js';
import { LOCAL_POSTGRES, LOCAL_REDIS, redisAnswers } from './services.js';

/** The Redis a cluster shares; CI runs one here. */
export const TEST_REDIS_URL = process.env.REDIS_URL || LOCAL_REDIS;

/**
 * `describe` for tests of several instances: they need a Postgres and a Redis that every
 * instance reaches. Without them (a laptop with neither running) the suite says why and
 * leaves these out; CI always has both.
 */
export const describeWithSharedServices = describe.skipIf(inject('sharedServicesMissing') !== undefined);

/**
 * Vitest loads this module once per test file, so each file gets its own prefix: files run
 * in parallel, and CI runs may share one Redis, and none must see another's counters or
 * revocations.
 */
const FILE_REDIS_KEY_PREFIX = `test:${randomBytes(6).toString('hex')}:`;

/**
 * A database on a real Postgres that several app instances may share, as the instances of
 * one deployment do. Each instance (and whoever else calls `retain`) holds it; the last
 * `release` drops it.
 */
export class TestDatabase {
  private holders = 0;
  private dropped = false;

  private constructor(
    readonly adminUrl: string,
    readonly name: string,
  ) {}

  /**
   * A fresh database: a clone of the migrated template when global setup made one on this
   * Postgres, else empty (the first app to boot on it migrates it).
   */
  static async create(adminUrl: string): Promise<TestDatabase> {
    const template = adminUrl === process.env.DATABASE_URL ? inject('templateDatabase') : undefined;
    const name = template ? await cloneDatabase(adminUrl, template) : await createDatabase(adminUrl);
    return new TestDatabase(adminUrl, name);
  }

  get url(): string {
    return databaseUrl(this.adminUrl, this.name);
  }

  retain(): this {
    if (this.dropped) throw new Error(`test database ${this.name} was already dropped`);
    this.holders += 1;
    return this;
  }

  async release(): Promise<void> {
    this.holders -= 1;
    if (this.holders > 0 || this.dropped) return;
    this.dropped = true;
    await dropDatabase(this.adminUrl, this.name);
  }
}

export interface TestApp {
  app: NestExpressApplication;
  config: AppConfig;
  http: TestAgent;
  /** Undefined on the embedded database, which lives in this app's memory and cannot be shared. */
  database: TestDatabase | undefined;
  /**
   * Every log line the app wrote, as raw lines and as one text. Only the first app of a test
   * file has them: nestjs-pino keeps one root logger per process, so a later app writes into
   * the first one's capture, at the first one's level, and reading its own would prove nothing.
   */
  logs: { lines: string[]; text: () => string };
  /** Stops the app (once; later calls wait for the first) and lets go of its database. */
  close: () => Promise<void>;
}

export interface TestAppOptions {
  /** Boot as one more instance on this database (another app's, or a cluster's) instead of a fresh one. */
  database?: TestDatabase;
}

/**
 * Boots the real AppModule on its own database: a clone of the migrated template on the
 * Postgres of DATABASE_URL, or an in-memory embedded database when it is unset. With
 * `options.database`, on that database instead. With REDIS_URL in `env`, its keys and
 * channels get this test file's prefix unless REDIS_KEY_PREFIX is given.
 */
export async function startTestApp(env: Record<string, string> = {}, options: TestAppOptions = {}): Promise<TestApp> {
  const adminUrl = process.env.DATABASE_URL;
  const database = (options.database ?? (adminUrl ? await TestDatabase.create(adminUrl) : undefined))?.retain();
  const lines: string[] = [];
  const logDestination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  let config: AppConfig;
  let app: NestExpressApplication;
  try {
    config = loadConfig({
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      DATA_DIR: ':memory:',
      // Tests send many requests from one address; rate-limit tests set their own limits.
      RATE_LIMIT_ANON: '100000/min',
      RATE_LIMIT_USER: '100000/min',
      RATE_LIMIT_AUTH: '100000/min',
      // Tests sign up users by the hundred; the account-lifecycle tests set `mandatory` and an SMTP_URL.
      EMAIL_VERIFICATION: 'none',
      ...NO_MFA_REQUIRED_ROLES,
      ...(database ? { DATABASE_URL: database.url } : {}),
      ...(env.REDIS_URL ? { REDIS_KEY_PREFIX: FILE_REDIS_KEY_PREFIX } : {}),
      ...env,
    });
    app = await createApp(config, { logDestination });
  } catch (error) {
    await database?.release();
    throw error;
  }
  let closing: Promise<void> | undefined;
  return {
    app,
    config,
    http: request(app.getHttpServer()),
    database,
    logs: capturedLogs(lines, logDestination),
    close: () =>
      (closing ??= (async () => {
        try {
          await app.close();
        } finally {
          await database?.release();
        }
      })()),
  };
}

/** The app's log lines, or an error that says why a later app of the file has none. */
function capturedLogs(lines: string[], destination: Writable): TestApp['logs'] {
  const root = PinoLogger.root as unknown as Record<symbol, unknown> | undefined;
  if (root?.[pinoSymbols.streamSym] === destination) return { lines, text: () => lines.join('\n') };
  const refuse = (): never => {
    throw new Error(
      "this app's log lines go to the first app of this test file (nestjs-pino keeps one root logger " +
        'per process): read logs from the first app only, or start this one in a file of its own',
    );
  };
  return {
    get lines() {
      return refuse();
    },
    text: refuse,
  };
}

export interface TestCluster {
  /** The instances started with the cluster, in order. */
  apps: TestApp[];
  database: TestDatabase;
  /** What every instance was started with: database, Redis, signing keys and secrets. */
  env: Record<string, string>;
  /** One more instance of the same deployment; also after every other one closed (a restart). */
  start: () => Promise<TestApp>;
  /** Closes every instance still running, then drops the database. */
  close: () => Promise<void>;
}

/**
 * `count` instances of one deployment, as behind a load balancer: one Postgres database,
 * one Redis (under this file's key prefix), one JWT key set, CSRF secret, API-key pepper,
 * OAuth cookie keys and MFA encryption key, so any instance accepts what another issued. The embedded database lives in one app's memory,
 * so a cluster needs a real Postgres: DATABASE_URL, else LOCAL_POSTGRES. The cluster holds
 * the database too: it outlives its instances until `close`.
 */
export async function startTestCluster(count: number, env: Record<string, string> = {}): Promise<TestCluster> {
  const adminUrl = process.env.DATABASE_URL || LOCAL_POSTGRES;
  const shared: Record<string, string> = {
    REDIS_URL: TEST_REDIS_URL,
    JWT_KEYS: JSON.stringify(await generateKeySet()),
    CSRF_SECRET: randomBytes(32).toString('base64url'),
    API_KEY_PEPPER: randomBytes(32).toString('base64url'),
    OAUTH_COOKIE_KEYS: randomBytes(32).toString('base64url'),
    MFA_ENCRYPTION_KEY: randomBytes(32).toString('base64url'),
    ...env,
  };
  await assertRedisAnswers(shared.REDIS_URL as string);
  const database = await TestDatabase.create(adminUrl).catch((error: unknown) => {
    const { host } = new URL(adminUrl);
    throw new Error(
      `several app instances need one Postgres they all reach: set DATABASE_URL, or run Postgres at ${host} (${(error as Error).message})`,
    );
  });
  database.retain();
  const started: TestApp[] = [];
  const start = async () => {
    const instance = await startTestApp(shared, { database });
    started.push(instance);
    return instance;
  };
  const close = async () => {
    await Promise.all(started.map((instance) => instance.close()));
    await database.release();
  };
  try {
    // One after the other: on an empty database the first instance migrates it.
    for (let i = 0; i < count; i++) await start();
  } catch (error) {
    await close();
    throw error;
  }
  return { apps: [...started], database, env: shared, start, close };
}

/** The app would wait for Redis to come up; a test should rather say what is missing. */
async function assertRedisAnswers(url: string): Promise<void> {
  if (!(await redisAnswers(url))) throw new Error(`several app instances need one Redis they all reach, at ${url}`);
}
