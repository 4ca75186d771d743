import cluster from 'node:cluster';
import { existsSync } from 'node:fs';
import { ConfigError, loadConfig } from './config/app-config.js';
import { DataDirLockedError } from './db/data-dir-locked.error.js';
import { superviseWorkers } from './worker-supervisor.js';

async function main(): Promise<void> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  const config = loadConfig(process.env);
  if (config.app.workers > 1 && cluster.isPrimary) return superviseWorkers(config);
  // Imported here, not above: the primary of several workers never loads the application.
  const { serve } = await import('./serve.js');
  await serve(config);
}

main().catch((error: unknown) => {
  // Before the logger exists, a plain line on stderr is the clearest message.
  const known = error instanceof ConfigError || error instanceof DataDirLockedError;
  const message = known ? (error as Error).message : `Startup failed: ${(error as Error)?.message ?? String(error)}`;
  process.stderr.write(`${message}\n`);
  process.exit(1);
});
