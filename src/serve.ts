import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { PinoLogger } from 'nestjs-pino';
import { createApp } from './app.factory.js';
import type { AppConfig } from './config/app-config.js';
import { terminalDestination } from './common/logging/pretty.js';
import { startupLine } from './common/logging/startup.js';
import { flushTraces } from './common/tracing/trace-context.js';
import { Lifecycle } from './modules/health/lifecycle.js';

const MIN_FINISH_MS = 1_000;

/** One instance of the server in this process: the only one, or one of WEB_CONCURRENCY workers. */
export async function serve(config: AppConfig): Promise<void> {
  const app = await createApp(config, { logDestination: await terminalDestination(config) });
  await app.listen(config.app.port, config.app.host);
  const finishRequests = requestFinisher(app.getHttpServer());
  const { fields, message } = startupLine(config, await app.getUrl());
  PinoLogger.root.info({ startup: fields }, message);

  // An orderly stop: readiness turns 503 and requests keep being served for the grace period
  // (the load balancer notices and stops sending), then the server stops accepting and
  // finishes what is in flight, and only then does app.close() drain the audit buffer (so
  // the events of those requests are written), sign the last checkpoint and close the pool;
  // the process exits 0. Nest's app.close() alone would drain the buffer before it closes
  // the HTTP server, and lose the events of requests still running. (Nest's own shutdown
  // hooks re-raise the signal, so the exit status would say "killed".)
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    app.get(Lifecycle).beginDraining();
    const graceMs = config.app.shutdownGraceSeconds * 1000;
    sleep(graceMs)
      // A request accepted just before gets a moment even with SHUTDOWN_GRACE=0.
      .then(() => finishRequests(Math.max(graceMs, MIN_FINISH_MS)))
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

/**
 * What stops the HTTP server in order: no new connections, the requests in flight finish
 * (for `limitMs` at most: a client that never finishes its request must not hold the
 * shutdown), and each keep-alive connection closes as soon as its response is sent rather
 * than at its idle timeout. Installed at start, since requests already running must be seen.
 */
function requestFinisher(server: Server): (limitMs: number) => Promise<void> {
  let closing = false;
  server.on('request', (_request: IncomingMessage, response: ServerResponse) => {
    response.once('finish', () => {
      if (closing) setImmediate(() => server.closeIdleConnections());
    });
  });
  return async (limitMs) => {
    closing = true;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    await Promise.race([closed, sleep(limitMs, undefined, { ref: false })]);
    server.closeAllConnections();
  };
}
