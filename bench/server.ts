/**
 * What `npm run bench` (bench/run.ts) and `npm run soak` (bench/soak.ts) share: a throwaway
 * Postgres database, the built server started on it and stopped again, and what /proc says
 * about the server process.
 *
 * Env: BENCH_DIST (the compiled server, default dist; a folder outside the project gets a
 * node_modules link and a package.json so Node resolves it as ESM), BENCH_DATABASE_URL (the
 * Postgres server to create the database on, default postgres://postgres@127.0.0.1:5432/postgres).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';

export const ROOT = join(import.meta.dirname, '..');

/**
 * The Node flags of `npm run start:prod` (and the image): the bench and the soak measure the
 * process as production runs it, memory and garbage collection included.
 */
export const PRODUCTION_NODE_FLAGS: string[] = nodeFlags(
  (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts[
    'start:prod'
  ]!.split(' '),
);

/**
 * The flags a `node` command gives Node itself: every `--` argument between the last `node`
 * and the script, so a flag added to the start command is never left out by a pattern. The
 * tracing hook (`--import <module>`) is not one: the bench runs without an exporter.
 */
export function nodeFlags(args: readonly string[]): string[] {
  const flags: string[] = [];
  for (let i = args.lastIndexOf('node') + 1; i < args.length && args[i]!.startsWith('--'); i += 1) {
    if (args[i] === '--import') i += 1;
    else flags.push(args[i]!);
  }
  return flags;
}
const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 5_000;
const SERVER_LOG_LINES = 50;

/** One `node dist/main.js` to start. */
export interface ServerConfig {
  name: string;
  description: string;
  /** Added to (and winning over) the caller's environment; the harness's own settings win over it. */
  env: Record<string, string>;
  /** Node or V8 flags after production's (a later flag wins): V8's own cannot go through NODE_OPTIONS. */
  nodeFlags?: readonly string[];
}

export interface Server {
  name: string;
  description: string;
  child: ChildProcess;
  pid: number;
  baseUrl: string;
  /** The last lines the server wrote, shown when something goes wrong. */
  log: string[];
  exited: Promise<void>;
}

export function positiveNumber(name: string, fallback: number, integer = false): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new Error(`${name} must be a positive ${integer ? 'integer' : 'number'}, got "${raw}"`);
  }
  return value;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function gitRevision(): string | undefined {
  try {
    return execFileSync('git', ['describe', '--always', '--dirty'], { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

export function printColumns(header: string[], rows: string[][], leftAligned: number[]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]): string =>
    cells
      .map((cell, i) => (leftAligned.includes(i) ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
}

// --- database ---

const adminUrl = process.env.BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

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

/**
 * The compiled entry point. A build outside the project (BENCH_DIST=/tmp/...) would find
 * neither node_modules nor `"type": "module"` from where it lies, so both are provided.
 */
function serverEntry(dist: string): string {
  const dir = resolve(ROOT, dist);
  const main = join(dir, 'main.js');
  if (!existsSync(main)) {
    throw new Error(
      `${main} is missing: build first (npm run build, or npx tsc -p tsconfig.build.json --outDir ${dir})`,
    );
  }
  const fromRoot = relative(ROOT, dir);
  if (fromRoot.startsWith('..') || isAbsolute(fromRoot)) {
    const packageJson = join(dir, 'package.json');
    if (!existsSync(packageJson)) writeFileSync(packageJson, '{ "type": "module" }\n');
    const modules = join(dir, 'node_modules');
    if (!lstatSync(modules, { throwIfNoEntry: false })) symlinkSync(join(ROOT, 'node_modules'), modules, 'dir');
  }
  return main;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** Spawns the server; `waitUntilReady` tells when it answers. */
async function spawnServer(config: ServerConfig, entry: string, dbUrl: string): Promise<Server> {
  const port = await freePort();
  const child = spawn(process.execPath, [...PRODUCTION_NODE_FLAGS, ...(config.nodeFlags ?? []), entry], {
    cwd: ROOT,
    env: {
      ...process.env,
      // Development, because production refuses the bench routes.
      NODE_ENV: 'development',
      LOG_LEVEL: 'warn',
      ENABLE_BENCH_ROUTES: 'true',
      // Keeps generated development state out of the developer's .data folder.
      DATA_DIR: ':memory:',
      ...config.env,
      // DATABASE_URL keeps it on real Postgres rather than the embedded database.
      DATABASE_URL: dbUrl,
      HOST: '127.0.0.1',
      PORT: String(port),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) {
    throw new Error(`could not start node ${entry}`);
  }
  const log: string[] = [];
  const keep = (chunk: Buffer): void => {
    log.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    log.splice(0, Math.max(0, log.length - SERVER_LOG_LINES));
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    name: config.name,
    description: config.description,
    child,
    pid: child.pid,
    baseUrl: `http://127.0.0.1:${port}`,
    log,
    exited,
  };
}

export function hasExited(server: Server): boolean {
  return server.child.exitCode !== null || server.child.signalCode !== null;
}

async function waitUntilReady(server: Server): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (hasExited(server)) {
      throw new Error(`the server "${server.name}" exited during startup\n${serverLog(server)}`);
    }
    try {
      const response = await fetch(`${server.baseUrl}/health/ready`);
      // Read, not left for the garbage collector: its connection then goes back to the pool cleanly.
      await response.arrayBuffer();
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await sleep(100);
  }
  throw new Error(`the server "${server.name}" was not ready within ${READY_TIMEOUT_MS} ms\n${serverLog(server)}`);
}

async function stopServer(server: Server): Promise<void> {
  if (hasExited(server)) return;
  server.child.kill('SIGTERM');
  const stopped = await Promise.race([server.exited.then(() => true), sleep(STOP_TIMEOUT_MS, false)]);
  if (!stopped) {
    server.child.kill('SIGKILL');
    await server.exited;
  }
}

export function serverLog(server: Server): string {
  return server.log.length > 0
    ? `last output of server "${server.name}":\n  ${server.log.join('\n  ')}`
    : `(no output from server "${server.name}")`;
}

export function rssMb(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
    return kb === undefined ? undefined : Number(kb) / 1024;
  } catch {
    return undefined;
  }
}

/**
 * CPU time the process and its live descendants have used so far (with `WEB_CONCURRENCY` the
 * server is a primary whose workers do the work); undefined where /proc is missing.
 */
export function cpuMs(pid: number): number | undefined {
  const own = processStat(pid);
  if (own === undefined) return undefined;
  const all = processStats();
  const below = (parent: number): number =>
    all.filter((stat) => stat.parent === parent).reduce((sum, child) => sum + child.cpuMs + below(child.pid), 0);
  return own.cpuMs + below(pid);
}

/**
 * The CPU the local Postgres has used, in ms: every live process named postgres (its
 * backends, the WAL writer, the checkpointer), and the postmaster's reaped children (a
 * backend or autovacuum worker that ended counts there), so the figure never goes back. What
 * the database spends on a load when it runs on this machine and nothing else uses it at the
 * time. Undefined when no process is named postgres.
 */
export function databaseCpuMs(): number | undefined {
  const postgres = processStats().filter((stat) => stat.command === 'postgres');
  if (postgres.length === 0) return undefined;
  const pids = new Set(postgres.map((stat) => stat.pid));
  return postgres.reduce((sum, stat) => sum + stat.cpuMs + (pids.has(stat.parent) ? 0 : stat.reapedChildrenCpuMs), 0);
}

interface ProcessStat {
  pid: number;
  parent: number;
  command: string;
  /** utime and stime. */
  cpuMs: number;
  /** cutime and cstime: the CPU of children it has waited for. */
  reapedChildrenCpuMs: number;
}

function processStat(pid: number): ProcessStat | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces; the numeric fields start after its closing paren.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are in clock ticks of 10 ms (USER_HZ is 100 on Linux).
    return {
      pid,
      parent: Number(fields[1]),
      command: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')),
      cpuMs: (Number(fields[11]) + Number(fields[12])) * 10,
      reapedChildrenCpuMs: (Number(fields[13]) + Number(fields[14])) * 10,
    };
  } catch {
    // Gone between listing /proc and reading it, or no /proc at all.
    return undefined;
  }
}

function processStats(): ProcessStat[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .flatMap((name) => processStat(Number(name)) ?? []);
}

// --- the harness ---

/** A throwaway database and the servers started on it, all removed by `close`. */
export interface Harness {
  dbName: string;
  dbUrl: string;
  /** The compiled server every `start` runs. */
  entry: string;
  running: Server[];
  /** Starts a server on the database and waits until it is ready; servers start one at a time. */
  start(config: ServerConfig): Promise<Server>;
  /** Stops the servers and drops the database; safe to call more than once. */
  close(): Promise<void>;
}

/**
 * Creates the database (named `<tool>_<random>`) and takes over Ctrl-C, so an interrupted
 * run still stops its servers and drops its database. Its servers run the build in `dist`.
 */
export async function openHarness(tool: string, dist = process.env.BENCH_DIST || 'dist'): Promise<Harness> {
  const entry = serverEntry(dist);
  const dbName = `${tool}_${randomBytes(6).toString('hex')}`;
  await withAdmin(`CREATE DATABASE ${dbName}`).catch((error: unknown) => {
    const { host } = new URL(adminUrl);
    throw new Error(
      `cannot create a database on Postgres at ${host} (BENCH_DATABASE_URL): ${(error as Error).message}`,
    );
  });
  const dbUrl = databaseUrl(dbName);
  const running: Server[] = [];
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await Promise.all(running.map(stopServer));
      // FORCE: a connection a server left behind must not keep the database alive.
      await withAdmin(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    })());
  function onSignal(): void {
    console.error(`\n${tool}: interrupted; stopping the servers and dropping the database`);
    void close().finally(() => process.exit(130));
  }
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return {
    dbName,
    dbUrl,
    entry,
    running,
    async start(config) {
      const server = await spawnServer(config, entry, dbUrl);
      // Tracked before it is ready, so one that never gets there is still stopped.
      running.push(server);
      await waitUntilReady(server);
      return server;
    },
    close,
  };
}

/** Runs a tool's `main`: its result is the exit code; a thrown error is one line on stderr and exit 1. */
export function runTool(tool: string, main: () => Promise<number>): void {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(`${tool}: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 1;
    },
  );
}
