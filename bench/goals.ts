/**
 * The throughput goals of issue #21, each printed with PASS or FAIL at the end of `npm run bench`.
 *
 * With the peer kit (bench/peer.ts), every figure comes from its one interleaved wrk run:
 * our server and the Django REST framework peer through the same harness, and the bare
 * node:http server with S1's settings. Without it, the goals that need no peer (S3, S4 and S8
 * against S2, and S2's p99) come from our own scenarios: the requirements of
 * bench/scenarios.ts that name the goal, measured with autocannon; the others are reported as
 * not measured. A goal that fails is reported, not an error.
 */
import type { Requirement } from './scenarios.ts';
// @ts-expect-error TS5097: Node runs bench/ as TypeScript source, so the import must name the
// .ts file, and tsconfig.json does not allow .ts extensions. Types still flow through.
import { requirements, RESOURCE_JWT } from './scenarios.ts';
// @ts-expect-error TS5097, as above.
import { printColumns } from './server.ts';

/** One scenario of the kit's results.json (bench.py: the median run by req/s), as far as read here. */
export interface KitScenario {
  rps: number;
  rps_runs: number[];
  latency_us: { p50: number; p99: number };
  /** Responses outside 2xx (S8's 401s included), from the per-status counts. */
  non2xx: number;
  /** Connect, read, write and timeout errors. */
  socket_errors: number;
  statuses?: Record<string, number>;
  /** Server and Postgres CPU per request; missing when the harness found no server process. */
  cpu_ms_per_req?: number;
}

export interface KitResults {
  /** The harness's settings for the run (its env knobs), among others. */
  meta: {
    label: string;
    settings: { threads: number; connections: number; duration: string; warmup: string; repeat: number };
  };
  scenarios: Record<string, KitScenario>;
}

/** What one peer comparison measured. */
export interface PeerFigures {
  /** Our server's results.json, label `nest`. */
  ours: KitResults;
  /** The peer's results.json, label `drf`. */
  peer: KitResults;
  /** The bare node:http server, S1's wrk settings (the kit's limits L1). */
  bareNode: KitScenario;
}

/** Our own scenarios' figures (bench/run.ts), as far as the goals read them. */
export interface OwnFigures {
  scenarios: { name: string; requestsPerSecond: number; p99Ms: number }[];
  requirements: { name: string; subjectRps: number; baselineRps: number; ratio: number }[];
}

export interface GoalResult {
  goal: string;
  /** A ratio, or milliseconds for the latency goal; undefined when not measured. */
  value: number | undefined;
  /** At least this (a ratio goal) or at most this (the latency goal). */
  bound: number;
  atMost: boolean;
  /** undefined when not measured in this run. */
  pass: boolean | undefined;
  /** Where the figure comes from. */
  from: string;
}

/** The scenarios of the kit, in its order; S7 (password hashing) has no goal. */
export const KIT_SCENARIOS = ['S1', 'S2', 'S3', 'S4', 'S5', 'S6', 'S7', 'S8'] as const;

const BARE_NODE_MIN_RATIO = 0.35;
const PEER_MIN_RATIOS = { S2: 10, S5: 8, S6: 6 } as const;
const S2_MAX_P99_MS = 25;

/** The requirement of bench/scenarios.ts that is this goal; its minRatio is the goal's bound. */
function requirementFor(goal: 'S3' | 'S4' | 'S8'): Requirement & { minRatio: number } {
  const requirement = requirements.find((r: Requirement) => r.goal === goal);
  if (requirement?.minRatio === undefined) throw new Error(`bench/scenarios.ts has no requirement for goal ${goal}`);
  return requirement as Requirement & { minRatio: number };
}

const rps = (value: number): string => value.toFixed(0);

/** subject / baseline req/s, and what it was computed from; nothing when either was not run (SCENARIOS). */
function ratioOf(
  subject: [string, KitScenario | undefined],
  baseline: [string, KitScenario | undefined],
): { value: number | undefined; from: string } {
  const [subjectName, a] = subject;
  const [baselineName, b] = baseline;
  if (!a || !b) return { value: undefined, from: 'not measured: a scenario was left out (SCENARIOS)' };
  return { value: a.rps / b.rps, from: `${subjectName} ${rps(a.rps)} / ${baselineName} ${rps(b.rps)} req/s` };
}

/** Responses that were not what the kit's scenario expects (S8: 401; the others: 2xx), and socket errors. */
export function unexpectedResponses(sid: string, scenario: KitScenario): number {
  if (sid !== 'S8') return scenario.non2xx + scenario.socket_errors;
  const statuses = scenario.statuses ?? {};
  const total = Object.values(statuses).reduce((sum, count) => sum + count, 0);
  return total - (statuses['401'] ?? 0) + scenario.socket_errors;
}

function ratioGoal(goal: string, value: number | undefined, bound: number, from: string): GoalResult {
  return { goal, value, bound, atMost: false, pass: value === undefined ? undefined : value >= bound, from };
}

function p99Goal(value: number | undefined, from: string): GoalResult {
  const goal = `our S2 p99 <= ${S2_MAX_P99_MS} ms`;
  return {
    goal,
    value,
    bound: S2_MAX_P99_MS,
    atMost: true,
    pass: value === undefined ? undefined : value <= S2_MAX_P99_MS,
    from,
  };
}

const goalText = {
  S1: `S1 >= ${BARE_NODE_MIN_RATIO} x bare node:http`,
  peer: (sid: keyof typeof PEER_MIN_RATIOS) => `${sid} >= ${PEER_MIN_RATIOS[sid]} x peer`,
  own: (sid: 'S3' | 'S4' | 'S8') => `${sid} >= ${requirementFor(sid).minRatio} x our S2`,
};

/** Every goal from one peer comparison. */
function goalsFromPeer(figures: PeerFigures): GoalResult[] {
  const ours = figures.ours.scenarios;
  const peer = figures.peer.scenarios;
  const vsPeer = (sid: keyof typeof PEER_MIN_RATIOS): GoalResult => {
    const { value, from } = ratioOf(['ours', ours[sid]], ['peer', peer[sid]]);
    return ratioGoal(goalText.peer(sid), value, PEER_MIN_RATIOS[sid], from);
  };
  const vsS2 = (sid: 'S3' | 'S4' | 'S8'): GoalResult => {
    const { value, from } = ratioOf([sid, ours[sid]], ['S2', ours.S2]);
    return ratioGoal(goalText.own(sid), value, requirementFor(sid).minRatio, from);
  };
  const s1 = ratioOf(['S1', ours.S1], ['bare', figures.bareNode]);
  return [
    ratioGoal(goalText.S1, s1.value, BARE_NODE_MIN_RATIO, s1.from),
    vsPeer('S2'),
    vsS2('S3'),
    vsS2('S4'),
    vsPeer('S5'),
    vsPeer('S6'),
    vsS2('S8'),
    ours.S2
      ? p99Goal(ours.S2.latency_us.p99 / 1000, `wrk, ${figures.ours.meta.settings.connections} connections`)
      : p99Goal(undefined, 'not measured: S2 was left out (SCENARIOS)'),
  ];
}

/** The goals our own scenarios measure; the others not measured. */
function goalsFromOwn(own: OwnFigures | undefined): GoalResult[] {
  const noPeer = 'not measured: needs the peer comparison';
  const fromRequirement = (sid: 'S3' | 'S4' | 'S8'): GoalResult => {
    const requirement = requirementFor(sid);
    const result = own?.requirements.find((r) => r.name === requirement.name);
    return ratioGoal(
      goalText.own(sid),
      result?.ratio,
      requirement.minRatio,
      result
        ? `${rps(result.subjectRps)} / ${rps(result.baselineRps)} req/s, its requirement above (autocannon)`
        : 'not measured',
    );
  };
  const s2 = own?.scenarios.find((s) => s.name === RESOURCE_JWT);
  return [
    ratioGoal(goalText.S1, undefined, BARE_NODE_MIN_RATIO, noPeer),
    ratioGoal(goalText.peer('S2'), undefined, PEER_MIN_RATIOS.S2, noPeer),
    fromRequirement('S3'),
    fromRequirement('S4'),
    ratioGoal(goalText.peer('S5'), undefined, PEER_MIN_RATIOS.S5, noPeer),
    ratioGoal(goalText.peer('S6'), undefined, PEER_MIN_RATIOS.S6, noPeer),
    fromRequirement('S8'),
    p99Goal(s2?.p99Ms, s2 ? `"${RESOURCE_JWT}" above (autocannon, 10 connections)` : 'not measured'),
  ];
}

export function evaluateGoals(peer: PeerFigures | undefined, own: OwnFigures | undefined): GoalResult[] {
  return peer ? goalsFromPeer(peer) : goalsFromOwn(own);
}

function formatRatio(ratio: number): string {
  return ratio >= 0.1 || ratio === 0 ? ratio.toFixed(2) : ratio.toPrecision(2);
}

export function printGoals(goals: GoalResult[], source: string): void {
  console.log(`\ngoals (issue #21; ${source})`);
  printColumns(
    ['goal', 'measured', 'result', 'from'],
    goals.map((g) => [
      g.goal,
      g.value === undefined ? '-' : g.atMost ? `${g.value.toFixed(1)} ms` : `${formatRatio(g.value)}x`,
      g.pass === undefined ? 'n/a' : g.pass ? 'PASS' : 'FAIL',
      g.from,
    ]),
    [0, 2, 3],
  );
}

/** Our server and the peer scenario by scenario, and the bare node:http reference. */
export function printSideBySide(figures: PeerFigures): void {
  const { settings } = figures.ours.meta;
  console.log(
    `\nside by side (one interleaved run: wrk -t${settings.threads} -c${settings.connections} ` +
      `-d${settings.duration} after a ${settings.warmup} warm-up, median of ${settings.repeat} runs; ` +
      'ratio = ours / peer req/s)',
  );
  const ms = (us: number): string => (us / 1000).toFixed(1);
  const odd = (sid: string, s: KitScenario): string => String(unexpectedResponses(sid, s));
  printColumns(
    ['scenario', 'ours req/s', 'peer req/s', 'ratio', 'ours p50/p99 ms', 'peer p50/p99 ms', 'unexpected ours/peer'],
    KIT_SCENARIOS.filter((sid) => figures.ours.scenarios[sid] && figures.peer.scenarios[sid]).map((sid) => {
      const ours = figures.ours.scenarios[sid]!;
      const peer = figures.peer.scenarios[sid]!;
      return [
        sid,
        rps(ours.rps),
        rps(peer.rps),
        `${formatRatio(peer.rps > 0 ? ours.rps / peer.rps : 0)}x`,
        `${ms(ours.latency_us.p50)}/${ms(ours.latency_us.p99)}`,
        `${ms(peer.latency_us.p50)}/${ms(peer.latency_us.p99)}`,
        `${odd(sid, ours)}/${odd(sid, peer)}`,
      ];
    }),
    [0],
  );
  console.log(
    `bare node:http, GET / (S1's settings): ${rps(figures.bareNode.rps)} req/s, ` +
      `p50/p99 ${ms(figures.bareNode.latency_us.p50)}/${ms(figures.bareNode.latency_us.p99)} ms`,
  );
}
