/**
 * `npm run bench`: starts the built server against a throwaway Postgres database and drives
 * each scenario in bench/scenarios.ts with autocannon. Prints a table, writes
 * .bench/last.json, exits non-zero when any response was an error or an unexpected status.
 *
 * Env: BENCH_DURATION (seconds per scenario, default 5), BENCH_DATABASE_URL (the Postgres
 * server to create the database on, default postgres://postgres@127.0.0.1:5432/postgres).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import pg from 'pg';
import type { Scenario, ScenarioContext } from './scenarios.ts';
// @ts-expect-error TS5097: Node runs bench/ as TypeScript source, so the import must name the
// .ts file, and tsconfig.json does not allow .ts extensions. Types still flow through.
import { scenarios } from './scenarios.ts';

const ROOT = join(import.meta.dirname, '..');
const CONNECTIONS = 10;
const WARMUP_SECONDS = 1;
const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 5_000;
const SERVER_LOG_LINES = 50;
const SETTLE_WINDOW_MS = 200;
const SETTLE_TIMEOUT_MS = 30_000;

interface ScenarioResult {
  name: string;
  expectStatus: number;
  requests: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Responses whose status was not `expectStatus`. */
  unexpected: number;
  /** Connection errors and timeouts. */
  errors: number;
  statusCounts: Record<string, number>;
  /** Server resident memory right after the scenario; undefined where /proc is missing. */
  rssMb: number | undefined;
  /** req/s divided by the floor scenario's. */
  vsFloor: number | undefined;
}

interface Server {
  child: ChildProcess;
  pid: number;
  baseUrl: string;
  /** The last lines the server wrote, shown when something goes wrong. */
  log: string[];
  exited: Promise<void>;
}

function durationSeconds(): number {
  const raw = process.env.BENCH_DURATION;
  if (raw === undefined || raw === '') return 5;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new Error(
      `BENCH_DURATION must be a positive number of seconds, got "${raw}"`,
    );
  }
  return seconds;
}

// --- database ---

const adminUrl =
  process.env.BENCH_DATABASE_URL ||
  'postgres://postgres@127.0.0.1:5432/postgres';

async function withAdmin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

function databaseUrl(name: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.href;
}

// --- server ---

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

async function startServer(dbUrl: string): Promise<Server> {
  const port = await freePort();
  const child = spawn(process.execPath, ['dist/main.js'], {
    cwd: ROOT,
    env: {
      ...process.env,
      // Development, because production refuses the bench routes; DATABASE_URL keeps it on
      // real Postgres rather than the embedded database.
      NODE_ENV: 'development',
      DATABASE_URL: dbUrl,
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn',
      ENABLE_BENCH_ROUTES: 'true',
      // Keeps generated development state out of the developer's .data folder.
      DATA_DIR: ':memory:',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) {
    throw new Error('could not start node dist/main.js');
  }
  const log: string[] = [];
  const keep = (chunk: Buffer): void => {
    log.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    log.splice(0, Math.max(0, log.length - SERVER_LOG_LINES));
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => resolve()),
  );
  const server = {
    child,
    pid: child.pid,
    baseUrl: `http://127.0.0.1:${port}`,
    log,
    exited,
  };
  await waitUntilReady(server);
  return server;
}

async function waitUntilReady(server: Server): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (server.child.exitCode !== null || server.child.signalCode !== null) {
      throw new Error(`the server exited during startup\n${serverLog(server)}`);
    }
    try {
      const response = await fetch(`${server.baseUrl}/health/ready`);
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await sleep(100);
  }
  throw new Error(
    `the server was not ready within ${READY_TIMEOUT_MS} ms\n${serverLog(server)}`,
  );
}

async function stopServer(server: Server): Promise<void> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) {
    return;
  }
  server.child.kill('SIGTERM');
  const stopped = await Promise.race([
    server.exited.then(() => true),
    sleep(STOP_TIMEOUT_MS, false),
  ]);
  if (!stopped) {
    server.child.kill('SIGKILL');
    await server.exited;
  }
}

function serverLog(server: Server): string {
  return server.log.length > 0
    ? `last server output:\n  ${server.log.join('\n  ')}`
    : '(no server output)';
}

function rssMb(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
    return kb === undefined ? undefined : Number(kb) / 1024;
  } catch {
    return undefined;
  }
}

/** CPU time the process has used so far; undefined where /proc is missing. */
function cpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces; the numeric fields start after its closing paren.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime, in clock ticks of 10 ms (USER_HZ is 100 on Linux).
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

/**
 * Waits until the server's CPU goes quiet. Autocannon stops at the deadline and abandons the
 * requests in flight, which the server still finishes; with slow routes (password hashing)
 * that backlog would otherwise be charged to the next run.
 */
async function settle(server: Server, after: string): Promise<void> {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  let before = cpuMs(server.pid);
  while (before !== undefined && Date.now() < deadline) {
    await sleep(SETTLE_WINDOW_MS);
    const now = cpuMs(server.pid);
    if (now === undefined || now - before <= SETTLE_WINDOW_MS / 10) return;
    before = now;
  }
  if (before !== undefined) {
    console.warn(
      `bench: the server was still busy ${SETTLE_TIMEOUT_MS} ms after ${after}`,
    );
  }
}

// --- scenarios ---

async function fire(
  scenario: Scenario,
  ctx: ScenarioContext,
  duration: number,
): Promise<autocannon.Result> {
  const options = (await scenario.setup?.(ctx)) ?? {};
  return autocannon({
    ...options,
    url: `${ctx.baseUrl}${scenario.path}`,
    method: scenario.method,
    connections: CONNECTIONS,
    duration,
  });
}

async function measure(
  scenario: Scenario,
  ctx: ScenarioContext,
  server: Server,
  duration: number,
): Promise<ScenarioResult> {
  await fire(scenario, ctx, WARMUP_SECONDS);
  await settle(server, `the warm-up of "${scenario.name}"`);
  const result = await fire(scenario, ctx, duration);
  await settle(server, `"${scenario.name}"`);
  const statusCounts: Record<string, number> = {};
  for (const [status, { count = 0 }] of Object.entries(
    result.statusCodeStats ?? {},
  )) {
    statusCounts[status] = count;
  }
  const unexpected = Object.entries(statusCounts)
    .filter(([status]) => Number(status) !== scenario.expectStatus)
    .reduce((sum, [, count]) => sum + count, 0);
  return {
    name: scenario.name,
    expectStatus: scenario.expectStatus,
    requests: result.requests.total,
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    unexpected,
    errors: result.errors,
    statusCounts,
    rssMb: rssMb(server.pid),
    vsFloor: undefined,
  };
}

function failed(result: ScenarioResult): boolean {
  return result.unexpected > 0 || result.errors > 0 || result.requests === 0;
}

// --- report ---

/** Two decimals, but enough digits that a slow scenario does not read as 0.00. */
function formatRatio(ratio: number): string {
  return ratio >= 0.1 || ratio === 0 ? ratio.toFixed(2) : ratio.toPrecision(2);
}

function printTable(results: ScenarioResult[], floorName: string): void {
  const header = [
    'scenario',
    'req/s',
    'vs floor',
    'p50 ms',
    'p99 ms',
    'unexpected/errors',
    'RSS MB',
  ];
  const rows = results.map((r) => [
    r.name === floorName ? `${r.name} (floor)` : r.name,
    r.requestsPerSecond.toFixed(0),
    r.vsFloor === undefined ? '-' : `${formatRatio(r.vsFloor)}x`,
    r.p50Ms.toFixed(1),
    r.p99Ms.toFixed(1),
    `${r.unexpected}/${r.errors}`,
    r.rssMb === undefined ? '-' : r.rssMb.toFixed(1),
  ]);
  const widths = header.map((h, i) =>
    Math.max(h.length, ...rows.map((row) => row[i]!.length)),
  );
  // The name column reads best left-aligned, the numbers right-aligned.
  const line = (cells: string[]): string =>
    cells
      .map((cell, i) =>
        i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!),
      )
      .join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
}

function gitRevision(): string | undefined {
  try {
    return execFileSync('git', ['describe', '--always', '--dirty'], {
      cwd: ROOT,
      encoding: 'utf8',
    }).trim();
  } catch {
    return undefined;
  }
}

// --- main ---

async function main(): Promise<number> {
  const duration = durationSeconds();
  const floors = scenarios.filter((s) => s.floor);
  if (floors.length !== 1) {
    throw new Error('exactly one scenario must be the floor');
  }
  const floorName = floors[0]!.name;

  const dbName = `bench_${randomBytes(6).toString('hex')}`;
  let server: Server | undefined;
  let dbCreated = false;
  let cleaning: Promise<void> | undefined;
  const cleanup = (): Promise<void> =>
    (cleaning ??= (async () => {
      if (server) await stopServer(server);
      // FORCE: a connection the server left behind must not keep the database alive.
      if (dbCreated) {
        await withAdmin(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      }
    })());
  // Ctrl-C mid-run still removes the database and the server.
  const onSignal = (): void => {
    console.error(
      '\nbench: interrupted; stopping the server and dropping the database',
    );
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    await withAdmin(`CREATE DATABASE ${dbName}`).catch((error: unknown) => {
      const { host } = new URL(adminUrl);
      throw new Error(
        `cannot create a database on Postgres at ${host} (BENCH_DATABASE_URL): ${(error as Error).message}`,
      );
    });
    dbCreated = true;
    const dbUrl = databaseUrl(dbName);
    server = await startServer(dbUrl);
    const ctx: ScenarioContext = {
      baseUrl: server.baseUrl,
      databaseUrl: dbUrl,
    };

    console.log(
      `bench: ${scenarios.length} scenarios, ${CONNECTIONS} connections, ${duration} s each ` +
        `(+${WARMUP_SECONDS} s warm-up), server pid ${server.pid}, database ${dbName}\n`,
    );
    const results: ScenarioResult[] = [];
    for (const scenario of scenarios) {
      results.push(await measure(scenario, ctx, server, duration));
      if (server.child.exitCode !== null || server.child.signalCode !== null) {
        throw new Error(
          `the server died during "${scenario.name}"\n${serverLog(server)}`,
        );
      }
    }
    const floorRps = results.find(
      (r) => r.name === floorName,
    )!.requestsPerSecond;
    for (const r of results) {
      r.vsFloor = floorRps > 0 ? r.requestsPerSecond / floorRps : undefined;
    }

    printTable(results, floorName);
    const ok = !results.some(failed);
    mkdirSync(join(ROOT, '.bench'), { recursive: true });
    writeFileSync(
      join(ROOT, '.bench', 'last.json'),
      `${JSON.stringify(
        {
          finishedAt: new Date().toISOString(),
          revision: gitRevision(),
          node: process.version,
          connections: CONNECTIONS,
          durationSeconds: duration,
          warmupSeconds: WARMUP_SECONDS,
          floor: floorName,
          ok,
          scenarios: results,
        },
        null,
        2,
      )}\n`,
    );
    console.log('\nresults written to .bench/last.json');
    if (ok) return 0;

    console.error('\nbench: failed scenarios');
    for (const r of results.filter(failed)) {
      console.error(
        r.requests === 0
          ? `  ${r.name}: no response completed within ${duration} s`
          : `  ${r.name}: expected ${r.expectStatus}, got ${JSON.stringify(r.statusCounts)}, ` +
              `${r.errors} connection errors`,
      );
    }
    console.error(serverLog(server));
    return 1;
  } finally {
    await cleanup();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(
      `bench: ${error instanceof Error ? error.message : String(error)}`,
    );
    process.exitCode = 1;
  },
);
