import { Writable } from 'node:stream';
import type { NestExpressApplication } from '@nestjs/platform-express';
import request from 'supertest';
import type TestAgent from 'supertest/lib/agent.js';
import { inject } from 'vitest';
import { createApp } from '../../src/app.factory.js';
import { loadConfig, type AppConfig } from '../../src/config/app-config.js';
import { cloneDatabase, databaseUrl, dropDatabase } from './databases.js';

export interface TestApp {
  app: NestExpressApplication;
  config: AppConfig;
  http: TestAgent;
  /** Every log line the app wrote, as parsed JSON objects and as raw text. */
  logs: { lines: string[]; text: () => string };
  close: () => Promise<void>;
}

/**
 * Boots the real AppModule on its own database: a clone of the migrated template on the
 * Postgres of DATABASE_URL, or an in-memory embedded database when it is unset.
 */
export async function startTestApp(env: Record<string, string> = {}): Promise<TestApp> {
  const adminUrl = process.env.DATABASE_URL;
  const template = inject('templateDatabase');
  const database = adminUrl && template ? await cloneDatabase(adminUrl, template) : undefined;
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    DATA_DIR: ':memory:',
    ...(adminUrl && database ? { DATABASE_URL: databaseUrl(adminUrl, database) } : {}),
    ...env,
  });
  const lines: string[] = [];
  const logDestination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  const app = await createApp(config, { logDestination });
  return {
    app,
    config,
    http: request(app.getHttpServer()),
    logs: { lines, text: () => lines.join('\n') },
    close: async () => {
      await app.close();
      if (adminUrl && database) await dropDatabase(adminUrl, database);
    },
  };
}
