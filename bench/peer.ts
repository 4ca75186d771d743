/**
 * The peer stage of `npm run bench` (issue #21): our built server side by side with the
 * Django REST framework peer, both driven through the HTTP contract by the peer kit's own
 * harness (`bench/compare.sh`: wrk, scenarios S1 to S8, the targets interleaved), plus the
 * kit's bare node:http server measured with S1's settings. Prints both servers scenario by
 * scenario and the goals (bench/goals.ts), and writes .bench/goals.json.
 *
 * The kit is a folder with `drf/` (the peer) and `bench/` (the harness), read only: it is
 * copied to a temporary folder, since the peer keeps its state in drf/var and the harness
 * writes bench/results. It runs when the folder exists and wrk, /usr/bin/time,
 * /usr/bin/gunicorn and Debian's python3 with Django REST framework are installed; otherwise
 * the stage says why it skipped and prints the goals our own scenarios measure.
 *
 * Env: BENCH_PEER (auto: run when the kit is installed, the default; off: never; on: required,
 * a missing kit is an error; only: required, and bench/run.ts skips its own scenarios),
 * BENCH_PEER_DIR (the kit, default `shared/peers` in the folder above the project),
 * BENCH_PEER_DURATION, BENCH_PEER_WARMUP, BENCH_PEER_REPEAT (the harness's DURATION, WARMUP
 * and REPEAT, default its own: 10s, 3s, 3; the harness's other knobs, THREADS, CONNECTIONS,
 * QUIET_MAX_WAIT..., pass through as they are), BENCH_WEB_CONCURRENCY (WEB_CONCURRENCY of our
 * server, default unset).
 */
import { randomBytes } from 'node:crypto';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  accessSync,
  chmodSync,
  constants,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, relative, resolve, sep } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KitResults, OwnFigures, PeerFigures } from './goals.ts';
import {
  evaluateGoals,
  KIT_SCENARIOS,
  printGoals,
  printSideBySide,
  unexpectedResponses,
  // @ts-expect-error TS5097: Node runs bench/ as TypeScript source, so the import must name the
  // .ts file, and tsconfig.json does not allow .ts extensions. Types still flow through.
} from './goals.ts';
// @ts-expect-error TS5097, as above.
import { serverEnv } from './scenarios.ts';
import type { Harness } from './server.ts';
// @ts-expect-error TS5097, as above.
import { freePort, gitRevision, openHarness, ROOT, serverLog } from './server.ts';

const MODES = ['auto', 'off', 'on', 'only'] as const;
export type PeerMode = (typeof MODES)[number];

const PYTHON = '/usr/bin/python3';
const PEER_LABEL = 'drf';
const OUR_LABEL = 'nest';
const BARE_READY_TIMEOUT_MS = 10_000;
/** The harness's raw output of the last comparison (wrk output, tables, results.json). */
const RAW_OUTPUT = join(ROOT, '.bench', 'peer');

export function peerMode(): PeerMode {
  const raw = process.env.BENCH_PEER || 'auto';
  if (!(MODES as readonly string[]).includes(raw)) {
    throw new Error(`BENCH_PEER must be one of ${MODES.join(', ')}, got "${raw}"`);
  }
  return raw as PeerMode;
}

function onPath(command: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** The kit's folder, or why the comparison cannot run here. */
function findKit(mode: PeerMode): { dir: string } | { skipped: string } {
  if (mode === 'off') return { skipped: 'BENCH_PEER=off' };
  const dir = resolve(process.env.BENCH_PEER_DIR || resolve(ROOT, '../shared/peers'));
  const missing: string[] = [];
  if (!existsSync(join(dir, 'drf', 'start.sh')) || !existsSync(join(dir, 'bench', 'compare.sh'))) {
    missing.push(`no peer kit (drf/start.sh, bench/compare.sh) in ${dir} (BENCH_PEER_DIR)`);
  } else {
    if (!onPath('wrk')) missing.push('wrk is not installed');
    if (!existsSync('/usr/bin/time')) missing.push('/usr/bin/time is missing');
    if (!existsSync('/usr/bin/gunicorn')) missing.push('/usr/bin/gunicorn is missing');
    if (spawnSync(PYTHON, ['-c', 'import django, rest_framework'], { stdio: 'ignore' }).status !== 0) {
      missing.push(`${PYTHON} cannot import django and rest_framework (Debian packages, see the kit's drf/README.md)`);
    }
  }
  if (missing.length === 0) return { dir };
  const reason = missing.join('; ');
  if (mode !== 'auto') throw new Error(`BENCH_PEER=${mode}, but ${reason}`);
  return { skipped: reason };
}

/** The harness's settings: its own defaults unless BENCH_PEER_* says otherwise. */
function kitEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const knob of ['DURATION', 'WARMUP', 'REPEAT']) {
    const value = process.env[`BENCH_PEER_${knob}`];
    if (value) env[knob] = value;
  }
  return env;
}

/** Runs a kit command with its output shown as it comes; a non-zero exit is an error. */
function runKit(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'inherit', 'inherit'] });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${command} ${args.join(' ')} exited with ${signal ?? code}`));
    });
  });
}

async function waitForHttp(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + BARE_READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${url}: the server exited during startup`);
    try {
      const response = await fetch(url);
      await response.arrayBuffer();
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await sleep(100);
  }
  throw new Error(`${url} did not answer within ${BARE_READY_TIMEOUT_MS} ms`);
}

function readResults(file: string): KitResults {
  return JSON.parse(readFileSync(file, 'utf8')) as KitResults;
}

/**
 * One comparison: the peer, the bare node:http server and our server started, measured and
 * stopped again whatever happens (Ctrl-C included), the temporary copy of the kit removed.
 */
async function comparePeer(kitDir: string): Promise<PeerFigures> {
  const work = mkdtempSync(join(tmpdir(), 'bench-peer-'));
  // The peer's database setup runs psql as the postgres user from drf/: it must be able to
  // enter the folder (not to list it).
  chmodSync(work, 0o711);
  // State an earlier run left in the kit (pid files, results) must not come along.
  const stale = [join(kitDir, 'drf', 'var'), join(kitDir, 'bench', 'results')];
  cpSync(kitDir, work, { recursive: true, filter: (src) => !stale.some((s) => src === s || src.startsWith(s + sep)) });
  const env = kitEnv();
  const peerPort = await freePort();
  let bare: ChildProcess | undefined;
  let harness: Harness | undefined;
  let cleaned = false;
  /** Synchronous, so the Ctrl-C handler can run it before the harness's own handler exits. */
  const cleanUp = (): void => {
    if (cleaned) return;
    cleaned = true;
    bare?.kill('SIGTERM');
    // The peer runs daemonised (gunicorn --daemon): only its stop script reaches it.
    spawnSync(join(work, 'drf', 'stop.sh'), [String(peerPort)], { stdio: 'inherit' });
    rmSync(work, { recursive: true, force: true });
  };
  const onSignal = (): void => {
    cleanUp();
    // Once the harness is open, its own handler stops our server and exits.
    if (!harness) process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    console.log(`\nbench: peer comparison, kit copied from ${kitDir} to ${work}`);
    await runKit(join(work, 'drf', 'start.sh'), [String(peerPort)], { ...env, BENCH: '1' });

    harness = await openHarness('bench_peer');
    const webConcurrency = process.env.BENCH_WEB_CONCURRENCY;
    const ours = await harness.start({
      name: OUR_LABEL,
      description: 'limits out of the way, sign-up signs in at once, as the peer with BENCH=1',
      env: {
        ...serverEnv,
        // The harness's user is a plain user; no role must enrol a second factor first.
        MFA_REQUIRED_ROLES: '',
        // As production runs: no bench routes, and no event-loop monitor with them.
        ENABLE_BENCH_ROUTES: 'false',
        ...(webConcurrency
          ? {
              WEB_CONCURRENCY: webConcurrency,
              // Workers are instances: they share counters through Redis and the development
              // secrets the first one writes under DATA_DIR.
              REDIS_URL: process.env.BENCH_REDIS_URL || 'redis://127.0.0.1:6379',
              REDIS_KEY_PREFIX: `bench-peer-${randomBytes(4).toString('hex')}:`,
              DATA_DIR: join(work, 'data'),
            }
          : {}),
      },
    });
    console.log(
      `bench: peer ${peerUrl}, our server ${ours.baseUrl} (pid ${ours.pid}, database ${harness.dbName}` +
        `${webConcurrency ? `, WEB_CONCURRENCY=${webConcurrency}` : ''})`,
    );

    // Right before the comparison, whose first scenario is S1, with the same settings.
    const barePort = await freePort();
    bare = spawn(process.execPath, [join(work, 'bench', 'limits', 'node-bare.js'), String(barePort), '1'], {
      stdio: 'ignore',
    });
    const bareUrl = `http://127.0.0.1:${barePort}/`;
    await waitForHttp(bareUrl, bare);
    const limitsDir = join(work, 'results', 'limits');
    console.log("bench: bare node:http (the kit's limits L1), S1's wrk settings");
    await runKit(
      PYTHON,
      [
        join(work, 'bench', 'bench.py'),
        'wrk',
        'L1',
        bareUrl,
        '--out',
        limitsDir,
        '--desc',
        `bare node:http ${process.version}`,
      ],
      env,
    );
    bare.kill('SIGTERM');

    const compareDir = join(work, 'results', 'compare');
    await runKit(
      join(work, 'bench', 'compare.sh'),
      [`${PEER_LABEL}=${peerUrl}`, `${OUR_LABEL}=${ours.baseUrl}`, '--out', compareDir],
      env,
    );
    // Kept for a look at the raw wrk output; the temporary folder goes.
    rmSync(RAW_OUTPUT, { recursive: true, force: true });
    cpSync(join(work, 'results'), RAW_OUTPUT, { recursive: true });
    console.log(`bench: the harness's raw output copied to ${relative(ROOT, RAW_OUTPUT)}`);
    const bareNode = readResults(join(limitsDir, 'results.json')).scenarios.L1;
    if (!bareNode) throw new Error('the bare node:http run wrote no result');
    const figures: PeerFigures = {
      ours: readResults(join(compareDir, OUR_LABEL, 'results.json')),
      peer: readResults(join(compareDir, PEER_LABEL, 'results.json')),
      bareNode,
    };
    const odd = KIT_SCENARIOS.filter((sid) => {
      const scenario = figures.ours.scenarios[sid];
      return scenario && unexpectedResponses(sid, scenario) > 0;
    });
    if (odd.length > 0) {
      console.error(`bench: our server answered unexpectedly in ${odd.join(', ')}\n${serverLog(ours)}`);
      throw new Error(`our server answered unexpectedly in ${odd.join(', ')} of the peer comparison`);
    }
    return figures;
  } finally {
    cleanUp();
    await harness?.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/**
 * Runs the comparison when the kit is there, prints the goals either way and writes
 * .bench/goals.json. `own` is what bench/run.ts measured itself (undefined with BENCH_PEER=only).
 * A goal that fails is reported, not an error; a comparison that cannot run is.
 */
export async function peerStage(mode: PeerMode, own: OwnFigures | undefined): Promise<void> {
  const kit = findKit(mode);
  let figures: PeerFigures | undefined;
  if ('skipped' in kit) console.log(`\nbench: peer comparison skipped: ${kit.skipped}`);
  else figures = await comparePeer(kit.dir);

  if (figures) printSideBySide(figures);
  const goals = evaluateGoals(figures, own);
  printGoals(
    goals,
    figures
      ? 'every figure from the interleaved wrk run above'
      : 'without the peer: what our own scenarios above measure (autocannon)',
  );
  mkdirSync(join(ROOT, '.bench'), { recursive: true });
  writeFileSync(
    join(ROOT, '.bench', 'goals.json'),
    `${JSON.stringify(
      {
        finishedAt: new Date().toISOString(),
        revision: gitRevision(),
        node: process.version,
        peer: figures ?? { skipped: 'skipped' in kit ? kit.skipped : undefined },
        goals,
      },
      null,
      2,
    )}\n`,
  );
  console.log('\ngoals written to .bench/goals.json');
}
