import { existsSync } from 'node:fs';
import { createApp } from './app.factory.js';
import { ConfigError, loadConfig } from './config/app-config.js';
import { DataDirLockedError } from './db/embedded-postgres.js';

async function main(): Promise<void> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  const config = loadConfig(process.env);
  const app = await createApp(config);
  await app.listen(config.app.port, config.app.host);

  // Nest's own shutdown hooks re-raise the signal, so the exit status would say "killed";
  // an orderly stop (requests finished, buffers flushed, pool closed) exits 0.
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    app
      .close()
      .then(() => process.exit(0))
      .catch((error: unknown) => {
        process.stderr.write(`Shutdown after ${signal} failed: ${(error as Error).message}\n`);
        process.exit(1);
      });
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((error: unknown) => {
  // Before the logger exists, a plain line on stderr is the clearest message.
  const known = error instanceof ConfigError || error instanceof DataDirLockedError;
  const message = known ? (error as Error).message : `Startup failed: ${(error as Error)?.message ?? String(error)}`;
  process.stderr.write(`${message}\n`);
  process.exit(1);
});
