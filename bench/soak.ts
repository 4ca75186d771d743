/**
 * `npm run soak`: starts the built server on a throwaway Postgres database (with Redis),
 * prepares users, tokens, API keys and resources, then sends a mixed workload (see
 * bench/soak-workload.ts) at a fixed rate, open-loop: arrivals keep their schedule however
 * slowly the server answers. Samples the server's RSS (and V8 heap, from /metrics) as it
 * goes. Prints errors by kind, p50/p99 per operation, RSS at the end of the warm-up and at the
 * end, after boot and at its peak, and a verdict (bench/soak-report.ts); writes .bench/soak.json;
 * exits non-zero on any error, when RSS grew by 10% or more after the warm-up, or when it
 * passed its bounds after boot or at any point.
 *
 * Env: SOAK_RATE (arrivals per second, default 200), SOAK_DURATION (seconds measured after
 * the warm-up, default 120), SOAK_WARMUP (seconds, excluded from latencies and growth;
 * default 60: caches fill and the JIT settles within seconds, but the V8 heap's high-water
 * mark, which RSS follows, rises over its first two collection cycles, about 40 s each at
 * 200 req/s; a warning says when the warm-up saw fewer than two), SOAK_USERS (default 20),
 * SOAK_SAMPLE_INTERVAL (seconds between memory samples, default 5), SOAK_MAX_GROWTH (RSS growth
 * in percent that fails the run, default 10; a run of seconds cannot judge it), SOAK_MAX_BOOT_RSS
 * (MB right after boot, default 200) and SOAK_MAX_RSS (MB at any point, default 300), REDIS_URL (default
 * redis://127.0.0.1:6379; keys get a prefix of their own), and BENCH_DATABASE_URL and
 * BENCH_DIST as for the bench.
 */
import { randomBytes } from 'node:crypto';
import { availableParallelism, loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
// @ts-expect-error TS5097: Node runs bench/ as TypeScript source, so the import must name the
// .ts file, and tsconfig.json does not allow .ts extensions. Types still flow through.
import { serverEnv } from './scenarios.ts';
// @ts-expect-error TS5097, as above.
import { prepareWorkload } from './soak-prepare.ts';
import type { MemorySample } from './soak-recorder.ts';
// @ts-expect-error TS5097, as above.
import { Recorder } from './soak-recorder.ts';
import type { DriveResult, RssBounds, SoakConfig } from './soak-report.ts';
// @ts-expect-error TS5097, as above.
import { mb, printReport } from './soak-report.ts';
import type { Send, SoakRequest, Workload } from './soak-workload.ts';
// @ts-expect-error TS5097, as above.
import { refreshIntervalSeconds } from './soak-workload.ts';
import type { Server } from './server.ts';
// @ts-expect-error TS5097, as above.
import { hasExited, openHarness, positiveNumber, rssMb, runTool, serverLog } from './server.ts';

const REQUEST_TIMEOUT_MS = 10_000;
const PEAK_POLL_MS = 250;
/** Past this many operations under way the server is not keeping up: more arrivals are errors. */
const MAX_IN_FLIGHT = 1_000;
/**
 * Short, so that within the soak access tokens expire and leave the revocation tables and
 * caches, as they do in production over hours: growth then shows what never leaves.
 */
const ACCESS_TOKEN_TTL_SECONDS = 60;

function readConfig(): SoakConfig {
  const config: SoakConfig = {
    rate: positiveNumber('SOAK_RATE', 200),
    durationSeconds: positiveNumber('SOAK_DURATION', 120),
    warmupSeconds: positiveNumber('SOAK_WARMUP', 60),
    users: positiveNumber('SOAK_USERS', 20, true),
    sampleSeconds: positiveNumber('SOAK_SAMPLE_INTERVAL', 5),
    maxGrowthPercent: positiveNumber('SOAK_MAX_GROWTH', 10),
    maxBootRssMb: positiveNumber('SOAK_MAX_BOOT_RSS', 200),
    maxRssMb: positiveNumber('SOAK_MAX_RSS', 300),
  };
  if (config.durationSeconds < 2 * config.sampleSeconds) {
    throw new Error('SOAK_DURATION must be at least twice SOAK_SAMPLE_INTERVAL, to compare memory samples');
  }
  const refreshEvery = refreshIntervalSeconds(config.users, config.rate);
  if (refreshEvery > ACCESS_TOKEN_TTL_SECONDS / 2) {
    throw new Error(
      `at ${config.rate} req/s each of ${config.users} users refreshes only every ${refreshEvery.toFixed(0)} s, ` +
        `too rarely for ${ACCESS_TOKEN_TTL_SECONDS} s access tokens: raise SOAK_RATE or lower SOAK_USERS`,
    );
  }
  return config;
}

// --- requests ---

async function exchange(baseUrl: string, request: SoakRequest): Promise<{ status: number; text: string }> {
  const response = await fetch(`${baseUrl}${request.path}`, {
    method: request.method,
    headers: { ...(request.body === undefined ? {} : { 'content-type': 'application/json' }), ...request.headers },
    body: request.body === undefined ? undefined : JSON.stringify(request.body),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  return { status: response.status, text: await response.text() };
}

const parse = (text: string): unknown => (text === '' ? null : JSON.parse(text));

/** For the preparation: anything unexpected stops the soak before it starts. */
function preparingSender(baseUrl: string): Send {
  return async (operation, request) => {
    const { status, text } = await exchange(baseUrl, request).catch((error: unknown) => {
      throw new Error(`soak setup: ${operation} (${request.method} ${request.path}) failed: ${errorKind(error)}`);
    });
    if (status !== request.expectStatus) {
      throw new Error(
        `soak setup: ${operation} (${request.method} ${request.path}) answered ${status}, ` +
          `expected ${request.expectStatus}: ${text.slice(0, 500)}`,
      );
    }
    return parse(text);
  };
}

function errorKind(error: unknown): string {
  if (error instanceof DOMException && error.name === 'TimeoutError') return `no answer in ${REQUEST_TIMEOUT_MS} ms`;
  const code = (error as { cause?: { code?: unknown } }).cause?.code;
  if (typeof code === 'string') return code;
  return error instanceof Error ? error.name : 'unknown error';
}

/** For the load: every request counted, latency from sending to the whole body read. */
function soakSender(baseUrl: string, recorder: Recorder): Send {
  return async (operation, request) => {
    const started = performance.now();
    try {
      const { status, text } = await exchange(baseUrl, request);
      if (status !== request.expectStatus) {
        recorder.failed(operation, `${operation}: status ${status}`, text);
        return undefined;
      }
      const body = parse(text);
      recorder.answered(operation, performance.now() - started);
      return body;
    } catch (error) {
      const cause = (error as { cause?: unknown }).cause;
      recorder.failed(operation, `${operation}: ${errorKind(error)}`, String(cause ?? error));
      return undefined;
    }
  };
}

// --- the load ---

/** A number of the server's /metrics, e.g. `nodejs_heap_size_used_bytes`; undefined when absent. */
function metric(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

async function sampleMemory(server: Server, metricsToken: string): Promise<Omit<MemorySample, 'atSeconds' | 'warmUp'>> {
  const rss = rssMb(server.pid);
  try {
    const response = await fetch(`${server.baseUrl}/metrics`, {
      headers: { authorization: `Bearer ${metricsToken}` },
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const text = await response.text();
    const heap = metric(text, 'nodejs_heap_size_used_bytes');
    return {
      rssMb: rss,
      heapUsedMb: heap === undefined ? undefined : heap / 1_048_576,
      majorGcs: metric(text, 'nodejs_gc_duration_seconds_count{kind="major"}'),
    };
  } catch {
    return { rssMb: rss, heapUsedMb: undefined, majorGcs: undefined };
  }
}

/**
 * Fires `workload.next()` every 1/rate seconds, without waiting for answers, through the
 * warm-up and the measured time; samples memory every `sampleSeconds`; then waits for the
 * operations still under way.
 */
async function drive(
  config: SoakConfig,
  workload: Workload,
  recorder: Recorder,
  server: Server,
  metricsToken: string,
): Promise<DriveResult> {
  const intervalMs = 1000 / config.rate;
  const start = performance.now();
  const warmupEnd = start + config.warmupSeconds * 1000;
  const end = warmupEnd + config.durationSeconds * 1000;
  const pending = new Set<Promise<void>>();
  const lags: number[] = [];
  let nextArrival = start;
  let nextSample = start + config.sampleSeconds * 1000;
  let serverExited = false;
  let sampling = Promise.resolve();

  const sample = async (at: number): Promise<void> => {
    const warmUp = at <= warmupEnd;
    const memory = await sampleMemory(server, metricsToken);
    const atSeconds = Math.round((at - start) / 1000);
    recorder.samples.push({ atSeconds, warmUp, ...memory });
    const recent = recorder.takeRecent();
    console.log(
      `  ${String(atSeconds).padStart(4)} s  ${warmUp ? 'warm-up  ' : 'measuring'}  RSS ${mb(memory.rssMb)}  ` +
        `heap ${mb(memory.heapUsedMb)}  major GCs ${memory.majorGcs ?? '-'}  ${(recent.answered / config.sampleSeconds).toFixed(0)} answers/s  ` +
        `p99 ${recent.p99Ms.toFixed(1)} ms  errors ${recorder.errorCount}  in flight ${pending.size}`,
    );
  };

  // Before the load: the warm-up's major collections are counted from here.
  sampling = sampling.then(() => sample(start));
  for (;;) {
    const now = performance.now();
    if (now >= end) break;
    if (hasExited(server)) {
      serverExited = true;
      break;
    }
    recorder.measuring = now >= warmupEnd;
    while (nextArrival <= now) {
      lags.push(now - nextArrival);
      nextArrival += intervalMs;
      if (pending.size >= MAX_IN_FLIGHT) {
        recorder.failed('client', `client: over ${MAX_IN_FLIGHT} operations in flight`, 'the server is not keeping up');
        continue;
      }
      const operation: Promise<void> = workload
        .next()
        .catch((error: unknown) => recorder.failed('client', `client: ${errorKind(error)}`, String(error)))
        .finally(() => pending.delete(operation));
      pending.add(operation);
    }
    // Not awaited, so arrivals keep their schedule; chained, so samples stay in order.
    if (now >= nextSample) {
      const at = nextSample;
      sampling = sampling.then(() => sample(at));
      nextSample += config.sampleSeconds * 1000;
    }
    await sleep(Math.max(0, Math.min(nextArrival, nextSample) - performance.now()));
  }
  const elapsedSeconds = (performance.now() - start) / 1000;
  if (!serverExited) sampling = sampling.then(() => sample(end));
  await sampling;
  await Promise.allSettled(pending);
  lags.sort((a, b) => a - b);
  return {
    arrivals: lags.length,
    elapsedSeconds,
    lagP99Ms: lags[Math.max(0, Math.ceil(lags.length * 0.99) - 1)] ?? 0,
    lagMaxMs: lags.at(-1) ?? 0,
    serverExited,
  };
}

/**
 * RSS right after boot (the server has just answered its readiness probe), then its peak,
 * polled every PEAK_POLL_MS (the memory samples, seconds apart, would miss a spike).
 */
function watchPeakRss(server: Server): { stop(): RssBounds } {
  const bootMb = rssMb(server.pid);
  const started = performance.now();
  let peakMb = bootMb;
  let peakAtSeconds = 0;
  const poll = setInterval(() => {
    const now = rssMb(server.pid);
    if (now !== undefined && (peakMb === undefined || now > peakMb)) {
      peakMb = now;
      peakAtSeconds = (performance.now() - started) / 1000;
    }
  }, PEAK_POLL_MS);
  return {
    stop() {
      clearInterval(poll);
      return { bootMb, peakMb, peakAtSeconds, endMb: rssMb(server.pid) };
    },
  };
}

// --- main ---

async function main(): Promise<number> {
  const config = readConfig();
  const runId = randomBytes(4).toString('hex');
  const metricsToken = randomBytes(24).toString('hex');
  const redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
  const harness = await openHarness('soak');
  try {
    const server = await harness.start({
      name: 'soak',
      description: 'rate limits on (far above the soak) with Redis counters',
      env: {
        ...serverEnv,
        JWT_ACCESS_TTL: `${ACCESS_TOKEN_TTL_SECONDS}s`,
        REDIS_URL: redisUrl,
        // Unique per run: counters of an earlier run (or of tests sharing the Redis) never count.
        REDIS_KEY_PREFIX: `soak-${runId}:`,
        METRICS_TOKEN: metricsToken,
      },
    });
    console.log(
      `soak: ${config.rate} req/s for ${config.durationSeconds} s after a ${config.warmupSeconds} s warm-up, ` +
        `${config.users} users; server ${harness.entry} (pid ${server.pid}), database ${harness.dbName}, ` +
        `Redis ${new URL(redisUrl).host} prefix soak-${runId}:`,
    );
    const load = loadavg()[0]!;
    console.log(`  load average ${load.toFixed(2)} on ${availableParallelism()} CPUs`);
    if (load > availableParallelism()) console.warn('soak: the machine is busy with other work; expect noisy figures');

    const rssBounds = watchPeakRss(server);
    const recorder = new Recorder();
    const prepareStarted = performance.now();
    const workload = await prepareWorkload(
      preparingSender(server.baseUrl),
      soakSender(server.baseUrl, recorder),
      config.users,
      runId,
    );
    console.log(`  prepared in ${((performance.now() - prepareStarted) / 1000).toFixed(1)} s\n`);
    const run = await drive(config, workload, recorder, server, metricsToken);
    const passed = printReport(
      config,
      { accessTokenTtlSeconds: ACCESS_TOKEN_TTL_SECONDS },
      recorder,
      run,
      workload,
      rssBounds.stop(),
    );
    if (run.serverExited) console.error(serverLog(server));
    return passed ? 0 : 1;
  } catch (error) {
    // A server that crashed has closed its connections before its exit is seen: a moment
    // later its log is complete, and says why.
    await Promise.race([...harness.running.map((s) => s.exited), sleep(1_000)]);
    for (const server of harness.running) console.error(serverLog(server));
    throw error;
  } finally {
    await harness.close();
  }
}

runTool('soak', main);
