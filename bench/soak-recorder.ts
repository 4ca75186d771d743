/**
 * What the soak (bench/soak.ts) counts: requests, latencies and errors per operation, and the
 * server's memory over time.
 */
// @ts-expect-error TS5097: Node runs bench/ as TypeScript source, so the import must name the
// .ts file, and tsconfig.json does not allow .ts extensions. Types still flow through.
import { median } from './server.ts';

/** How many error answers are kept verbatim (truncated) for the report. */
const EXAMPLES_KEPT = 10;
const EXAMPLE_CHARS = 300;

export interface OperationStats {
  operation: string;
  /** Answered with the expected status while measuring (the warm-up not counted). */
  requests: number;
  /** Over the whole run, the warm-up included. */
  errors: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface MemorySample {
  /** Since the load started. */
  atSeconds: number;
  warmUp: boolean;
  rssMb: number | undefined;
  /** V8 heap in use, from the server's /metrics; undefined when it did not answer. */
  heapUsedMb: number | undefined;
  /** Major (mark-compact) collections since the server started, from /metrics. */
  majorGcs: number | undefined;
}

/** The first samples after the warm-up against the last ones (see `rssGrowth`). */
export interface Growth {
  samplesEach: number;
  startMb: number;
  endMb: number;
  percent: number;
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export class Recorder {
  /** Off during the warm-up: latencies then are not the steady state. */
  measuring = false;
  /** Every request answered or failed, the warm-up included. */
  total = 0;
  readonly errors = new Map<string, number>();
  readonly examples: string[] = [];
  readonly samples: MemorySample[] = [];
  private readonly latencies = new Map<string, number[]>();
  private readonly errorsByOperation = new Map<string, number>();
  /** Latencies since the last progress line. */
  private recent: number[] = [];

  answered(operation: string, ms: number): void {
    this.total += 1;
    this.recent.push(ms);
    if (!this.measuring) return;
    const list = this.latencies.get(operation) ?? [];
    list.push(ms);
    this.latencies.set(operation, list);
  }

  /** `kind` groups errors in the report, e.g. `POST /auth/refresh: status 401`. */
  failed(operation: string, kind: string, detail: string): void {
    this.total += 1;
    this.errors.set(kind, (this.errors.get(kind) ?? 0) + 1);
    this.errorsByOperation.set(operation, (this.errorsByOperation.get(operation) ?? 0) + 1);
    if (this.examples.length < EXAMPLES_KEPT) this.examples.push(`${kind}: ${detail.slice(0, EXAMPLE_CHARS)}`);
  }

  get errorCount(): number {
    return [...this.errors.values()].reduce((sum, n) => sum + n, 0);
  }

  /** Answers and the p99 since the last call, for the progress lines. */
  takeRecent(): { answered: number; p99Ms: number } {
    const recent = this.recent.sort((a, b) => a - b);
    this.recent = [];
    return { answered: recent.length, p99Ms: percentile(recent, 99) };
  }

  /** Per operation (in `order`, those never seen left out), then all of them as `all`. */
  stats(order: string[]): OperationStats[] {
    const names = [...new Set([...order, ...this.latencies.keys(), ...this.errorsByOperation.keys()])];
    const rows = names
      .filter((name) => this.latencies.has(name) || this.errorsByOperation.has(name))
      .map((name) => this.statsOf(name, this.latencies.get(name) ?? [], this.errorsByOperation.get(name) ?? 0));
    const all = [...this.latencies.values()].flat();
    return [...rows, this.statsOf('all', all, this.errorCount)];
  }

  /**
   * RSS growth: the median of the first quarter of the samples after the warm-up against
   * that of the last quarter. A quarter of the measured time spans a collection cycle or
   * more, so both medians see the heap's ups and downs alike. Undefined without two samples.
   */
  rssGrowth(): Growth | undefined {
    const values = this.samples
      .filter((s) => !s.warmUp)
      .map((s) => s.rssMb)
      .filter((v): v is number => v !== undefined);
    if (values.length < 2) return undefined;
    const samplesEach = Math.max(1, Math.floor(values.length / 4));
    const startMb = median(values.slice(0, samplesEach));
    const endMb = median(values.slice(-samplesEach));
    return { samplesEach, startMb, endMb, percent: ((endMb - startMb) / startMb) * 100 };
  }

  private statsOf(operation: string, latencies: number[], errors: number): OperationStats {
    const sorted = [...latencies].sort((a, b) => a - b);
    return {
      operation,
      requests: sorted.length,
      errors,
      p50Ms: percentile(sorted, 50),
      p99Ms: percentile(sorted, 99),
      maxMs: sorted.at(-1) ?? 0,
    };
  }
}
