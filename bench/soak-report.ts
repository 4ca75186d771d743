/** The soak's report (bench/soak.ts): tables, memory growth, the verdict and .bench/soak.json. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import type { Growth, OperationStats, Recorder } from './soak-recorder.ts';
import type { Workload } from './soak-workload.ts';
// @ts-expect-error TS5097: Node runs bench/ as TypeScript source, so the import must name the
// .ts file, and tsconfig.json does not allow .ts extensions. Types still flow through.
import { OPERATIONS } from './soak-workload.ts';
// @ts-expect-error TS5097, as above.
import { gitRevision, printColumns, ROOT } from './server.ts';

/** What bench/soak.ts read from the environment. */
export interface SoakConfig {
  rate: number;
  durationSeconds: number;
  warmupSeconds: number;
  users: number;
  sampleSeconds: number;
  /** RSS growth after the warm-up that fails the run, in percent. */
  maxGrowthPercent: number;
  /** RSS right after the server answers its first request, in MB, above which the run fails. */
  maxBootRssMb: number;
  /** RSS at any moment of the run (preparation, warm-up and load), in MB, above which the run fails. */
  maxRssMb: number;
}

/** The server's resident memory at the three moments the bounds are about. */
export interface RssBounds {
  bootMb: number | undefined;
  peakMb: number | undefined;
  /** When the peak was, in seconds after boot (the preparation comes first, then the warm-up). */
  peakAtSeconds: number;
  endMb: number | undefined;
}

/** What driving the load measured, besides the recorder's figures. */
export interface DriveResult {
  arrivals: number;
  elapsedSeconds: number;
  /** How late the generator fired arrivals (timer granularity, a busy machine). */
  lagP99Ms: number;
  lagMaxMs: number;
  serverExited: boolean;
}

export const mb = (value: number | undefined): string => (value === undefined ? '-' : `${value.toFixed(1)} MB`);

function printOperations(stats: OperationStats[], measuredSeconds: number): void {
  printColumns(
    ['operation', 'answered', 'per s', 'errors', 'p50 ms', 'p99 ms', 'max ms'],
    stats.map((s) => [
      s.operation,
      String(s.requests),
      (s.requests / measuredSeconds).toFixed(1),
      String(s.errors),
      s.p50Ms.toFixed(1),
      s.p99Ms.toFixed(1),
      s.maxMs.toFixed(1),
    ]),
    [0],
  );
}

function describeGrowth(growth: Growth | undefined): string {
  if (!growth) return 'not measured (too few samples)';
  const sign = growth.percent >= 0 ? '+' : '';
  return `${mb(growth.startMb)} -> ${mb(growth.endMb)} (${sign}${growth.percent.toFixed(1)}%)`;
}

/** RSS growth, the verdict's measure, printed with how it was measured. */
function reportMemory(config: SoakConfig, recorder: Recorder): Growth | undefined {
  const { samples } = recorder;
  const atWarmupEnd = samples.filter((s) => s.warmUp).at(-1);
  console.log(`\nRSS ${mb(atWarmupEnd?.rssMb)} at the end of the warm-up, ${mb(samples.at(-1)?.rssMb)} at the end`);
  const rss = recorder.rssGrowth();
  console.log(
    'RSS is noisy (the heap saws up and down between collections; allocators keep freed memory), so growth ' +
      `compares the median of the first quarter of the samples after the warm-up (${rss?.samplesEach ?? '-'}, ` +
      `${config.sampleSeconds} s apart) with the median of the last quarter:\n  RSS ${describeGrowth(rss)}`,
  );
  console.log('(the heap and its major collections, sample by sample: above, and in .bench/soak.json)');
  // The heap's high-water mark, which RSS follows, rises over the first collection cycles.
  const warmupGcs = (atWarmupEnd?.majorGcs ?? NaN) - (samples[0]?.majorGcs ?? NaN);
  if (Number.isNaN(warmupGcs) || warmupGcs < 2) {
    console.warn(
      `soak: the warm-up saw ${Number.isNaN(warmupGcs) ? 'an unknown number of' : `only ${warmupGcs}`} major ` +
        'collection(s); RSS may still have been climbing to its working size (raise SOAK_WARMUP)',
    );
  }
  return rss;
}

/**
 * Prints the results and the verdict, writes .bench/soak.json (with `settings`, what else
 * the run was configured with), and says whether the soak passed.
 */
export function printReport(
  config: SoakConfig,
  settings: Record<string, unknown>,
  recorder: Recorder,
  run: DriveResult,
  workload: Workload,
  rssBounds: RssBounds,
): boolean {
  const stats = recorder.stats(Object.values(OPERATIONS));
  console.log(
    `\n${run.arrivals} arrivals in ${run.elapsedSeconds.toFixed(0)} s (${(run.arrivals / run.elapsedSeconds).toFixed(0)}/s), ` +
      `${recorder.total} requests, ${recorder.errorCount} errors; generator lag p99 ${run.lagP99Ms.toFixed(1)} ms, ` +
      `max ${run.lagMaxMs.toFixed(1)} ms (latency counts from the actual send)`,
  );
  if (workload.skipped > 0) console.log(`${workload.skipped} arrivals found every user busy and sent nothing`);
  console.log(`\nlatency over the ${config.durationSeconds} s after the warm-up; errors over the whole run:\n`);
  printOperations(stats, config.durationSeconds);
  if (recorder.errors.size > 0) {
    console.log('\nerrors by kind:');
    for (const [kind, count] of recorder.errors) console.log(`  ${String(count).padStart(6)}  ${kind}`);
    console.log('first answers:');
    for (const example of recorder.examples) console.log(`  ${example}`);
  }
  const rss = reportMemory(config, recorder);
  console.log(
    `RSS after boot ${mb(rssBounds.bootMb)} (limit ${config.maxBootRssMb} MB), peak ${mb(rssBounds.peakMb)} ` +
      `${rssBounds.peakAtSeconds.toFixed(0)} s after boot (limit ${config.maxRssMb} MB), end ${mb(rssBounds.endMb)}`,
  );
  const problems = [
    ...(run.serverExited ? ['the server exited'] : []),
    ...(recorder.errorCount > 0 ? [`${recorder.errorCount} errors`] : []),
    ...(!rss
      ? ['RSS not measured']
      : rss.percent >= config.maxGrowthPercent
        ? [`RSS grew ${rss.percent.toFixed(1)}%`]
        : []),
    ...((rssBounds.bootMb ?? 0) > config.maxBootRssMb ? [`RSS after boot ${mb(rssBounds.bootMb)}`] : []),
    ...((rssBounds.peakMb ?? 0) > config.maxRssMb ? [`RSS peaked at ${mb(rssBounds.peakMb)}`] : []),
  ];
  const limits =
    `0 errors, RSS growth under ${config.maxGrowthPercent}%, ` +
    `RSS at most ${config.maxBootRssMb} MB after boot and ${config.maxRssMb} MB at any point`;
  console.log(
    problems.length === 0
      ? `\nverdict: PASS: 0 errors, RSS ${describeGrowth(rss)} after the warm-up, boot ${mb(rssBounds.bootMb)}, ` +
          `peak ${mb(rssBounds.peakMb)} (limits: ${limits})`
      : `\nverdict: FAIL: ${problems.join(', ')} (limits: ${limits})`,
  );
  writeResults({
    config: { ...config, ...settings },
    ok: problems.length === 0,
    problems,
    run: { ...run, requests: recorder.total, skipped: workload.skipped },
    operations: stats,
    errors: Object.fromEntries(recorder.errors),
    errorExamples: recorder.examples,
    rssGrowth: rss,
    rss: rssBounds,
    samples: recorder.samples,
  });
  return problems.length === 0;
}

function writeResults(results: Record<string, unknown>): void {
  mkdirSync(join(ROOT, '.bench'), { recursive: true });
  const header = {
    finishedAt: new Date().toISOString(),
    revision: gitRevision(),
    node: process.version,
    cpus: availableParallelism(),
    loadAverage: loadavg()[0],
  };
  writeFileSync(join(ROOT, '.bench', 'soak.json'), `${JSON.stringify({ ...header, ...results }, null, 2)}\n`);
  console.log('results written to .bench/soak.json');
}
