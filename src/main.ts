import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { createApp } from './app.factory.js';
import { ConfigError, loadConfig } from './config/app-config.js';
import { DataDirLockedError } from './db/embedded-postgres.js';
import { Lifecycle } from './modules/health/lifecycle.js';
import { flushTraces } from './common/tracing/trace-context.js';
import { terminalDestination } from './common/logging/pretty.js';
import { startupLine } from './common/logging/startup.js';
import { PinoLogger } from 'nestjs-pino';

async function main(): Promise<void> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  const config = loadConfig(process.env);
  const app = await createApp(config, { logDestination: await terminalDestination(config) });
  await app.listen(config.app.port, config.app.host);
  const { fields, message } = startupLine(config, await app.getUrl());
  PinoLogger.root.info({ startup: fields }, message);

  // An orderly stop: readiness turns 503 and requests keep being served for the grace period
  // (the load balancer notices and stops sending), then the server stops accepting, finishes
  // what is in flight, drains the audit buffer and closes the pool, and the process exits 0.
  // (Nest's own shutdown hooks re-raise the signal, so the exit status would say "killed".)
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    app.get(Lifecycle).beginDraining();
    sleep(config.app.shutdownGraceSeconds * 1000)
      .then(() => app.close())
      .then(flushTraces)
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
