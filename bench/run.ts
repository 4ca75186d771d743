/**
 * `npm run bench`: starts the built server (one process per configuration in
 * bench/scenarios.ts `servers`, all on one throwaway Postgres database) and drives each
 * scenario with autocannon. Scenarios named by a requirement are measured back to back
 * with their counterpart, alternating (subject, baseline, baseline, subject, ...), and the
 * median of each side is compared. Prints a table and the requirements, writes
 * .bench/last.json, exits non-zero when any response was an error or an unexpected status
 * (a requirement that fails is reported, not an error).
 *
 * Then the peer stage (bench/peer.ts): when the peer kit is installed, our server side by side
 * with a Django REST framework peer through the kit's wrk harness; either way the goals of
 * issue #21 with PASS or FAIL (bench/goals.ts), written to .bench/goals.json.
 *
 * Env: BENCH_DURATION (seconds per run, default 5), BENCH_ROUNDS (runs per side of each
 * requirement, default 4: an even count balances the ABBA order), BENCH_DIST (the compiled server, default dist; a folder outside
 * the project gets a node_modules link and a package.json so Node resolves it as ESM),
 * BENCH_DATABASE_URL (the Postgres server to create the database on, default
 * postgres://postgres@127.0.0.1:5432/postgres), BENCH_REDIS_URL (default
 * redis://127.0.0.1:6379, for the server with Redis counters); BENCH_PEER and the other
 * knobs of the peer stage are described in bench/peer.ts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import type { OwnFigures } from './goals.ts';
import type { PeerMode } from './peer.ts';
// @ts-expect-error TS5097: Node runs bench/ as TypeScript source, so the import must name the
// .ts file, and tsconfig.json does not allow .ts extensions. Types still flow through.
import { peerMode, peerStage } from './peer.ts';
import type { LoopCheck, Scenario, ScenarioContext } from './scenarios.ts';
// @ts-expect-error TS5097, as above.
import { loopChecks, requirements, scenarios, serverEnv, servers } from './scenarios.ts';
import type { Server } from './server.ts';
import {
  cpuMs,
  gitRevision,
  hasExited,
  median,
  openHarness,
  positiveNumber,
  printColumns,
  ROOT,
  rssMb,
  runTool,
  serverLog,
  // @ts-expect-error TS5097, as above (reported on the line naming the file).
} from './server.ts';

const CONNECTIONS = 10;
const WARMUP_SECONDS = 1;
const SETTLE_WINDOW_MS = 200;
const SETTLE_TIMEOUT_MS = 30_000;
const DEFAULT_SERVER = 'main';

/** One measured autocannon run. */
interface Sample {
  requests: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Responses whose status was not the scenario's `expectStatus`. */
  unexpected: number;
  /** Connection errors and timeouts. */
  errors: number;
  statusCounts: Record<string, number>;
  /** Server resident memory right after the run; undefined where /proc is missing. */
  rssMb: number | undefined;
  /**
   * CPU time of the server process per completed request, in microseconds (its own CPU only:
   * not Postgres, Redis or autocannon). Less sensitive than req/s to other work on the
   * machine, so it helps read a noisy comparison. Undefined where /proc is missing.
   */
  cpuUsPerRequest: number | undefined;
}

interface ScenarioResult {
  name: string;
  server: string;
  expectStatus: number;
  /** Measured runs (the warm-up not counted); the figures below are medians over them. */
  runs: number;
  requests: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Summed over the runs. */
  unexpected: number;
  errors: number;
  statusCounts: Record<string, number>;
  /** After the last run. */
  rssMb: number | undefined;
  cpuUsPerRequest: number | undefined;
  /** req/s divided by the floor scenario's. */
  vsFloor: number | undefined;
  samples: Sample[];
}

interface RequirementResult {
  name: string;
  subject: string;
  baseline: string;
  /** Median req/s of each side over this comparison's own alternating runs. */
  subjectRps: number;
  baselineRps: number;
  subjectRuns: number[];
  baselineRuns: number[];
  ratio: number;
  /**
   * The same comparison on the server's CPU per request (baseline ÷ subject, so it reads
   * like the req/s ratio): a cross-check less moved by other work on the machine. Only the
   * server's own CPU, so it misses cost that lands in Postgres or Redis.
   */
  cpuRatio: number | undefined;
  minRatio: number | undefined;
  /** undefined when the comparison has no bound (reported only). */
  pass: boolean | undefined;
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
    console.warn(`bench: the server "${server.name}" was still busy ${SETTLE_TIMEOUT_MS} ms after ${after}`);
  }
}

// --- scenarios ---

/** The median of the defined values; undefined when there are none. */
function medianOf(values: (number | undefined)[]): number | undefined {
  const defined = values.filter((v): v is number => v !== undefined);
  return defined.length > 0 ? median(defined) : undefined;
}

function serverOf(scenario: Scenario): string {
  return scenario.server ?? DEFAULT_SERVER;
}

function makeContext(server: Server, dbUrl: string): ScenarioContext {
  const fixtures = new Map<string, Promise<unknown>>();
  return {
    baseUrl: server.baseUrl,
    databaseUrl: dbUrl,
    server: server.name,
    once<T>(key: string, create: () => Promise<T>): Promise<T> {
      let fixture = fixtures.get(key) as Promise<T> | undefined;
      if (!fixture) {
        fixture = create();
        fixtures.set(key, fixture);
      }
      return fixture;
    },
  };
}

class Runner {
  private readonly samples = new Map<string, Sample[]>();
  private readonly warmed = new Set<string>();

  private readonly servers: Map<string, { server: Server; ctx: ScenarioContext }>;
  private readonly duration: number;

  // Plain fields: Node strips types only, and parameter properties are not just types.
  constructor(servers: Map<string, { server: Server; ctx: ScenarioContext }>, duration: number) {
    this.servers = servers;
    this.duration = duration;
  }

  samplesOf(scenario: Scenario): Sample[] {
    return this.samples.get(scenario.name) ?? [];
  }

  /** One measured run of the scenario (after a warm-up the first time), appended to its samples. */
  async sample(scenario: Scenario): Promise<Sample> {
    const { server, ctx } = this.servers.get(serverOf(scenario))!;
    if (!this.warmed.has(scenario.name)) {
      await this.fire(scenario, ctx, WARMUP_SECONDS);
      await settle(server, `the warm-up of "${scenario.name}"`);
      this.warmed.add(scenario.name);
    }
    const cpuBefore = cpuMs(server.pid);
    const result = await this.fire(scenario, ctx, this.duration);
    const cpuAfter = cpuMs(server.pid);
    await settle(server, `"${scenario.name}"`);
    if (hasExited(server)) throw new Error(`the server died during "${scenario.name}"\n${serverLog(server)}`);
    const statusCounts: Record<string, number> = {};
    for (const [status, { count = 0 }] of Object.entries(result.statusCodeStats ?? {})) {
      statusCounts[status] = count;
    }
    const unexpected = Object.entries(statusCounts)
      .filter(([status]) => Number(status) !== scenario.expectStatus)
      .reduce((sum, [, count]) => sum + count, 0);
    const sample: Sample = {
      requests: result.requests.total,
      requestsPerSecond: result.requests.average,
      p50Ms: result.latency.p50,
      p99Ms: result.latency.p99,
      unexpected,
      errors: result.errors,
      statusCounts,
      rssMb: rssMb(server.pid),
      cpuUsPerRequest:
        cpuBefore === undefined || cpuAfter === undefined || result.requests.total === 0
          ? undefined
          : ((cpuAfter - cpuBefore) * 1000) / result.requests.total,
    };
    const list = this.samples.get(scenario.name) ?? [];
    list.push(sample);
    this.samples.set(scenario.name, list);
    return sample;
  }

  private async fire(scenario: Scenario, ctx: ScenarioContext, duration: number): Promise<autocannon.Result> {
    const { path, ...options } = (await scenario.setup?.(ctx)) ?? {};
    return autocannon({
      ...options,
      url: `${ctx.baseUrl}${path ?? scenario.path}`,
      method: scenario.method,
      connections: CONNECTIONS,
      duration,
    });
  }
}

function summarize(scenario: Scenario, samples: Sample[]): ScenarioResult {
  const statusCounts: Record<string, number> = {};
  for (const sample of samples) {
    for (const [status, count] of Object.entries(sample.statusCounts)) {
      statusCounts[status] = (statusCounts[status] ?? 0) + count;
    }
  }
  const sum = (pick: (s: Sample) => number): number => samples.reduce((total, s) => total + pick(s), 0);
  return {
    name: scenario.name,
    server: serverOf(scenario),
    expectStatus: scenario.expectStatus,
    runs: samples.length,
    requests: sum((s) => s.requests),
    requestsPerSecond: median(samples.map((s) => s.requestsPerSecond)),
    p50Ms: median(samples.map((s) => s.p50Ms)),
    p99Ms: median(samples.map((s) => s.p99Ms)),
    unexpected: sum((s) => s.unexpected),
    errors: sum((s) => s.errors),
    statusCounts,
    rssMb: samples.at(-1)?.rssMb,
    cpuUsPerRequest: medianOf(samples.map((s) => s.cpuUsPerRequest)),
    vsFloor: undefined,
    samples,
  };
}

function failed(result: ScenarioResult): boolean {
  return result.unexpected > 0 || result.errors > 0 || result.samples.some((s) => s.requests === 0);
}

/** Names, servers, floor and requirements that refer to each other must line up. */
function validate(): Scenario {
  const names = new Set<string>();
  for (const scenario of scenarios) {
    if (names.has(scenario.name)) throw new Error(`two scenarios are named "${scenario.name}"`);
    names.add(scenario.name);
    if (!servers.some((s) => s.name === serverOf(scenario))) {
      throw new Error(`scenario "${scenario.name}" targets the unknown server "${serverOf(scenario)}"`);
    }
  }
  for (const requirement of requirements) {
    for (const name of [requirement.subject, requirement.baseline]) {
      if (!names.has(name)) throw new Error(`requirement "${requirement.name}" names the unknown scenario "${name}"`);
    }
  }
  const compared = new Set(requirements.flatMap((r) => [r.subject, r.baseline]));
  for (const check of loopChecks) {
    // Measured once, in the first pass: a scenario a requirement names runs in the alternating pairs instead.
    if (!names.has(check.scenario) || compared.has(check.scenario)) {
      throw new Error(`loop check "${check.name}" needs a scenario of its own, not "${check.scenario}"`);
    }
  }
  const floors = scenarios.filter((s) => s.floor);
  if (floors.length !== 1) throw new Error('exactly one scenario must be the floor');
  return floors[0]!;
}

// --- event-loop delay ---

/** What GET /bench/event-loop answers (src/modules/bench/event-loop-delay.ts). */
interface LoopDelay {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  samples: number;
}

type LoopCheckResult = LoopCheck & LoopDelay & { pass: boolean };

async function benchRoute(ctx: ScenarioContext, method: string, path: string): Promise<Response> {
  const response = await fetch(`${ctx.baseUrl}${path}`, { method });
  if (!response.ok) throw new Error(`bench: ${method} ${path} answered ${response.status}`);
  return response;
}

/** Runs the check's scenario (one measured sample, as any other) between a reset and a read of the histogram. */
async function measureLoop(runner: Runner, check: LoopCheck, scenario: Scenario, ctx: ScenarioContext) {
  await benchRoute(ctx, 'POST', '/bench/event-loop/reset');
  await runner.sample(scenario);
  const delay = (await (await benchRoute(ctx, 'GET', '/bench/event-loop')).json()) as LoopDelay;
  return { ...check, ...delay, pass: delay.p99Ms <= check.maxP99Ms };
}

function printLoopChecks(results: LoopCheckResult[]): void {
  console.log('\nevent-loop delay of the server while the scenario ran (monitorEventLoopDelay, 1 ms resolution)');
  printColumns(
    ['check', 'p50 ms', 'p99 ms', 'max ms', 'max p99 ms', 'result'],
    results.map((r) => [
      r.name,
      r.p50Ms.toFixed(1),
      r.p99Ms.toFixed(1),
      r.maxMs.toFixed(1),
      String(r.maxP99Ms),
      r.pass ? 'PASS' : 'FAIL',
    ]),
    [0, 5],
  );
}

// --- report ---

/** Two decimals, but enough digits that a slow scenario does not read as 0.00. */
function formatRatio(ratio: number): string {
  return ratio >= 0.1 || ratio === 0 ? ratio.toFixed(2) : ratio.toPrecision(2);
}

function printTable(results: ScenarioResult[], floorName: string): void {
  printColumns(
    [
      'scenario',
      'server',
      'runs',
      'req/s',
      'vs floor',
      'p50 ms',
      'p99 ms',
      'CPU us/req',
      'unexpected/errors',
      'RSS MB',
    ],
    results.map((r) => [
      r.name === floorName ? `${r.name} (floor)` : r.name,
      r.server,
      String(r.runs),
      r.requestsPerSecond.toFixed(0),
      r.vsFloor === undefined ? '-' : `${formatRatio(r.vsFloor)}x`,
      r.p50Ms.toFixed(1),
      r.p99Ms.toFixed(1),
      r.cpuUsPerRequest === undefined ? '-' : r.cpuUsPerRequest.toFixed(0),
      `${r.unexpected}/${r.errors}`,
      r.rssMb === undefined ? '-' : r.rssMb.toFixed(1),
    ]),
    [0, 1],
  );
}

function printRequirements(results: RequirementResult[], rounds: number): void {
  console.log(
    `\nrequirements (ratio = subject req/s / baseline req/s, medians of ${rounds} alternating runs per side; ` +
      'CPU ratio = baseline / subject server CPU per request, for reference)',
  );
  printColumns(
    ['requirement', 'subject req/s', 'baseline req/s', 'ratio', 'min', 'result', 'CPU ratio'],
    results.map((r) => [
      r.name,
      r.subjectRps.toFixed(0),
      r.baselineRps.toFixed(0),
      formatRatio(r.ratio),
      r.minRatio === undefined ? '-' : r.minRatio.toFixed(2),
      r.pass === undefined ? 'info' : r.pass ? 'PASS' : 'FAIL',
      r.cpuRatio === undefined ? '-' : formatRatio(r.cpuRatio),
    ]),
    [0, 5],
  );
  for (const r of results) {
    const runs = (values: number[]): string => values.map((v) => v.toFixed(0)).join(', ');
    console.log(`  ${r.name}:\n    subject  ${r.subject}: ${runs(r.subjectRuns)}`);
    console.log(`    baseline ${r.baseline}: ${runs(r.baselineRuns)}`);
  }
}

// --- main ---

/** Our own scenarios: the exit code they call for, and their figures for the goals. */
async function ownBench(): Promise<{ code: number; figures: OwnFigures }> {
  const duration = positiveNumber('BENCH_DURATION', 5);
  const rounds = positiveNumber('BENCH_ROUNDS', 4, true);
  const floor = validate();
  const byName = new Map(scenarios.map((s) => [s.name, s]));
  const used = servers.filter((config) => scenarios.some((s) => serverOf(s) === config.name));

  const harness = await openHarness('bench');
  const { dbName, entry, running } = harness;

  try {
    const contexts = new Map<string, { server: Server; ctx: ScenarioContext }>();
    // One after another: the first applies the migrations, the others find them done.
    for (const config of used) {
      const server = await harness.start({ ...config, env: { ...serverEnv, ...config.env } });
      contexts.set(config.name, { server, ctx: makeContext(server, harness.dbUrl) });
    }

    const compared = new Set(requirements.flatMap((r) => [r.subject, r.baseline]));
    console.log(
      `bench: ${scenarios.length} scenarios, ${CONNECTIONS} connections, ${duration} s per run ` +
        `(+${WARMUP_SECONDS} s warm-up), ${rounds} alternating runs per side of each requirement, ` +
        `database ${dbName}, server ${entry}`,
    );
    for (const server of running) console.log(`  server ${server.name} (pid ${server.pid}): ${server.description}`);
    // Other work on the machine skews every figure; the alternating pairs cancel only part of it.
    const loadAtStart = loadavg()[0]!;
    console.log(`  load average ${loadAtStart.toFixed(2)} on ${availableParallelism()} CPUs`);
    if (loadAtStart > availableParallelism()) {
      console.warn('bench: the machine is busy with other work; expect noisy figures');
    }
    console.log();

    const runner = new Runner(contexts, duration);
    // Scenarios no requirement names first, in the listed order (the anonymous list before
    // the writes add rows), then each requirement's pair, alternating.
    const loopResults: LoopCheckResult[] = [];
    for (const scenario of scenarios) {
      if (compared.has(scenario.name)) continue;
      const check = loopChecks.find((c) => c.scenario === scenario.name);
      if (check) loopResults.push(await measureLoop(runner, check, scenario, contexts.get(serverOf(scenario))!.ctx));
      else await runner.sample(scenario);
    }
    const requirementResults: RequirementResult[] = [];
    for (const requirement of requirements) {
      const subject = byName.get(requirement.subject)!;
      const baseline = byName.get(requirement.baseline)!;
      const subjectSamples: Sample[] = [];
      const baselineSamples: Sample[] = [];
      // Subject first in one round, baseline first in the next (ABBA): a server still getting
      // faster (JIT, caches) or slower over the rounds then favours neither side.
      for (let round = 0; round < rounds; round += 1) {
        if (round % 2 === 0) {
          subjectSamples.push(await runner.sample(subject));
          baselineSamples.push(await runner.sample(baseline));
        } else {
          baselineSamples.push(await runner.sample(baseline));
          subjectSamples.push(await runner.sample(subject));
        }
      }
      const subjectRuns = subjectSamples.map((s) => s.requestsPerSecond);
      const baselineRuns = baselineSamples.map((s) => s.requestsPerSecond);
      const subjectRps = median(subjectRuns);
      const baselineRps = median(baselineRuns);
      const ratio = baselineRps > 0 ? subjectRps / baselineRps : 0;
      const subjectCpu = medianOf(subjectSamples.map((s) => s.cpuUsPerRequest));
      const baselineCpu = medianOf(baselineSamples.map((s) => s.cpuUsPerRequest));
      requirementResults.push({
        name: requirement.name,
        subject: requirement.subject,
        baseline: requirement.baseline,
        subjectRps,
        baselineRps,
        subjectRuns,
        baselineRuns,
        ratio,
        cpuRatio: subjectCpu && baselineCpu !== undefined ? baselineCpu / subjectCpu : undefined,
        minRatio: requirement.minRatio,
        pass: requirement.minRatio === undefined ? undefined : ratio >= requirement.minRatio,
      });
    }

    const results = scenarios.map((s) => summarize(s, runner.samplesOf(s)));
    const floorRps = results.find((r) => r.name === floor.name)!.requestsPerSecond;
    for (const r of results) r.vsFloor = floorRps > 0 ? r.requestsPerSecond / floorRps : undefined;

    printTable(results, floor.name);
    printRequirements(requirementResults, rounds);
    printLoopChecks(loopResults);
    const loadAtEnd = loadavg()[0]!;
    console.log(`\nload average ${loadAtStart.toFixed(2)} at the start, ${loadAtEnd.toFixed(2)} at the end`);
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
          rounds,
          cpus: availableParallelism(),
          loadAverage: { start: loadAtStart, end: loadAtEnd },
          floor: floor.name,
          ok,
          servers: used.map(({ name, description, env }) => ({ name, description, env })),
          serverEnv,
          scenarios: results,
          requirements: requirementResults,
          loopChecks: loopResults,
        },
        null,
        2,
      )}\n`,
    );
    console.log('\nresults written to .bench/last.json');
    const figures = { scenarios: results, requirements: requirementResults };
    if (ok) return { code: 0, figures };

    console.error('\nbench: failed scenarios');
    for (const r of results.filter(failed)) {
      console.error(
        r.samples.some((s) => s.requests === 0)
          ? `  ${r.name}: no response completed within ${duration} s in a run`
          : `  ${r.name}: expected ${r.expectStatus}, got ${JSON.stringify(r.statusCounts)}, ` +
              `${r.errors} connection errors`,
      );
    }
    for (const server of running) console.error(serverLog(server));
    return { code: 1, figures };
  } finally {
    await harness.close();
  }
}

async function main(): Promise<number> {
  const mode: PeerMode = peerMode();
  if (mode === 'only') {
    await peerStage(mode, undefined);
    return 0;
  }
  const own = await ownBench();
  // Failed scenarios already say what went wrong; a comparison would only bury it.
  if (own.code !== 0) return own.code;
  await peerStage(mode, own.figures);
  return 0;
}

runTool('bench', main);
