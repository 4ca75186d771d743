import cluster, { type Worker } from 'node:cluster';
import { pino } from 'pino';
import type { AppConfig } from './config/app-config.js';
import { terminalDestination } from './common/logging/pretty.js';

/** A worker that keeps dying is restarted after this, doubled each time, up to the cap. */
const FIRST_RESTART_DELAY_MS = 1_000;
const MAX_RESTART_DELAY_MS = 30_000;
/** A worker that ran this long before it died counts as healthy: its restart delay starts over. */
const HEALTHY_RUN_MS = 60_000;

/**
 * The primary process of `WEB_CONCURRENCY` > 1: it forks the workers (each runs the whole
 * server, and node:cluster hands them the connections of the one port in turn), restarts a
 * worker that dies, and on SIGTERM or SIGINT passes the signal on and exits once every worker
 * has finished its own orderly stop. It loads no application code, so it stays small.
 *
 * The first worker boots alone: it runs the migrations and, in development, writes the keys
 * and secrets under DATA_DIR, which the others then read instead of racing to create them.
 * A worker that fails before the server ever listened (bad configuration, database down)
 * stops the whole server with its exit code, as a single process would: restarting it would
 * only loop. Once the server has served, a worker that dies is replaced, with a back-off.
 */
export async function superviseWorkers(config: AppConfig): Promise<void> {
  const log = pino(
    { level: config.log.level, base: { pid: process.pid, role: 'primary' } },
    await terminalDestination(config),
  );
  const running = new Set<Worker>();
  const startedAt = new WeakMap<Worker, number>();
  let listening = 0;
  let restartDelayMs = FIRST_RESTART_DELAY_MS;
  let stopping = false;
  let exitCode = 0;

  const fork = (): Worker => {
    const worker = cluster.fork();
    running.add(worker);
    startedAt.set(worker, Date.now());
    worker.once('listening', () => {
      listening += 1;
      if (listening === config.app.workers) log.info({ workers: listening }, `${listening} workers share the port`);
    });
    return worker;
  };

  // Workers stop in order on their own (readiness 503, grace, drain, audit flush) and exit 0.
  const stopAll = (signal: NodeJS.Signals, code: number): void => {
    if (stopping) return;
    stopping = true;
    exitCode = code;
    if (running.size === 0) process.exit(exitCode);
    for (const worker of running) worker.process.kill(signal);
  };

  cluster.on('exit', (worker, code, signal) => {
    running.delete(worker);
    if (stopping) {
      if (running.size === 0) process.exit(exitCode);
      return;
    }
    if (listening === 0) {
      log.error({ worker: worker.id, code, signal }, 'a worker failed to start; stopping the server');
      stopAll('SIGTERM', code || 1);
      return;
    }
    if (Date.now() - (startedAt.get(worker) ?? 0) > HEALTHY_RUN_MS) restartDelayMs = FIRST_RESTART_DELAY_MS;
    log.error({ worker: worker.id, code, signal, restartInMs: restartDelayMs }, 'a worker died; starting another');
    setTimeout(() => stopping || fork(), restartDelayMs);
    restartDelayMs = Math.min(restartDelayMs * 2, MAX_RESTART_DELAY_MS);
  });
  process.once('SIGTERM', () => stopAll('SIGTERM', 0));
  process.once('SIGINT', () => stopAll('SIGINT', 0));

  fork().once('listening', () => {
    for (let i = 1; i < config.app.workers && !stopping; i += 1) fork();
  });
}
