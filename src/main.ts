import { existsSync } from 'node:fs';
import { createApp } from './app.factory.js';
import { ConfigError, loadConfig } from './config/app-config.js';
import { DataDirLockedError } from './db/embedded-postgres.js';

async function main(): Promise<void> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  const config = loadConfig(process.env);
  const app = await createApp(config);
  app.enableShutdownHooks(['SIGTERM', 'SIGINT']);
  await app.listen(config.app.port, config.app.host);
}

main().catch((error: unknown) => {
  // Before the logger exists, a plain line on stderr is the clearest message.
  const known = error instanceof ConfigError || error instanceof DataDirLockedError;
  const message = known ? (error as Error).message : `Startup failed: ${(error as Error)?.message ?? String(error)}`;
  process.stderr.write(`${message}\n`);
  process.exit(1);
});
