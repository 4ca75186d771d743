/**
 * `npm run bench:pair`: two builds of the server side by side, the way docs/performance.md
 * keeps or drops a change. Both are up at once (each on its own throwaway database, with the
 * same fixtures: those of the peer kit, 100 resources of which every fourth is public); each
 * round drives every scenario on one and then the other with `wrk -t1 -c<connections>`,
 * alternating which goes first, and reads the CPU the server used from /proc. CPU per request
 * is the figure to compare: it moves less than req/s with the load of the rest of the machine.
 * With Postgres on this machine, what it spent while each side ran is read too. The medians
 * of the rounds are printed with the change from A to B, then each round's.
 *
 * Env: PAIR_A and PAIR_B (the builds: `npx tsc -p tsconfig.build.json --outDir <folder>`; A is
 * the one before the change, B the change and by default dist, so the change columns read as
 * what the change does; B starts first, see below), PAIR_ENV_A and PAIR_ENV_B (JSON objects
 * of extra environment for one side, e.g. {"DB_POOL_SIZE":"4"}: one build against itself
 * measures a setting), PAIR_FLAGS_A and PAIR_FLAGS_B (Node or V8 flags for one side, after
 * production's, e.g. "--max-semi-space-size=16": V8's own flags cannot go through NODE_OPTIONS),
 * PAIR_SCENARIOS (default live,read,token,key,list,create,bad), PAIR_ROUNDS (default 4),
 * PAIR_DURATION (seconds per run, default 5), PAIR_CONNECTIONS (default 32),
 * BENCH_DATABASE_URL as for `npm run bench`. Needs wrk.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// @ts-expect-error TS5097: Node runs bench/ as TypeScript source, so the import must name the
// .ts file, and tsconfig.json does not allow .ts extensions. Types still flow through.
import { call, PASSWORD, serverEnv, tamperSignature } from './scenarios.ts';
import type { Harness, Server } from './server.ts';
// @ts-expect-error TS5097, as above.
import { cpuMs, databaseCpuMs, median, openHarness, positiveNumber, printColumns, runTool } from './server.ts';

const TOOL = 'bench:pair';

interface Fixtures {
  jwt: string;
  /** A private resource of the fixtures' user. */
  resourceId: string;
  personalToken: string;
  apiKey: string;
}

interface PairScenario {
  description: string;
  path: (fixtures: Fixtures) => string;
  headers: (fixtures: Fixtures) => Record<string, string>;
  /** The JSON body of a POST; a GET without it. */
  body?: string;
  expectStatus: number;
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const ownResource = (fixtures: Fixtures) => `/api/v1/resources/${fixtures.resourceId}`;

/** The peer comparison's S1 to S8 (but S7, password hashing) and the bench's baselines. */
const SCENARIOS: Record<string, PairScenario> = {
  live: { description: 'GET /health/live', path: () => '/health/live', headers: () => ({}), expectStatus: 200 },
  public: { description: 'GET /bench/public', path: () => '/bench/public', headers: () => ({}), expectStatus: 200 },
  protected: {
    description: 'GET /bench/protected, JWT',
    path: () => '/bench/protected',
    headers: (f) => bearer(f.jwt),
    expectStatus: 200,
  },
  read: { description: 'S2 read, JWT', path: ownResource, headers: (f) => bearer(f.jwt), expectStatus: 200 },
  key: {
    description: 'S3 read, API key',
    path: ownResource,
    headers: (f) => ({ 'x-api-key': f.apiKey }),
    expectStatus: 200,
  },
  token: {
    description: 'S4 read, personal token',
    path: ownResource,
    headers: (f) => ({ authorization: `Token ${f.personalToken}` }),
    expectStatus: 200,
  },
  list: {
    description: 'S5 anonymous list of 20',
    path: () => '/api/v1/resources?limit=20',
    headers: () => ({}),
    expectStatus: 200,
  },
  create: {
    description: 'S6 create, audited',
    path: () => '/api/v1/resources',
    headers: (f) => bearer(f.jwt),
    body: JSON.stringify({ name: 'bench post', description: 'created by wrk', visibility: 'private' }),
    expectStatus: 201,
  },
  'create-unaudited': {
    description: 'POST /bench/resources (no @Audited)',
    path: () => '/bench/resources',
    headers: (f) => bearer(f.jwt),
    body: JSON.stringify({ name: 'bench post', description: 'created by wrk', visibility: 'private' }),
    expectStatus: 201,
  },
  bad: {
    description: 'S8 read, tampered JWT (401)',
    path: ownResource,
    headers: (f) => bearer(tamperSignature(f.jwt)),
    expectStatus: 401,
  },
};

/** The setup's requests: a JSON body in, the JSON answer out. */
async function post(server: Server, path: string, expectStatus: number, body: unknown, headers = {}): Promise<unknown> {
  const response = await call({ baseUrl: server.baseUrl, server: server.name }, 'POST', path, expectStatus, {
    body,
    headers,
  });
  return response.json();
}

async function makeFixtures(server: Server): Promise<Fixtures> {
  const email = `pair-${Date.now()}@example.com`;
  await post(server, '/api/v1/auth/register', 201, { email, password: PASSWORD, displayName: 'Pair' });
  const { access_token: jwt } = (await post(server, '/api/v1/auth/login', 200, { email, password: PASSWORD })) as {
    access_token: string;
  };
  let resourceId = '';
  for (let i = 0; i < 100; i += 1) {
    const visibility = i % 4 === 0 ? 'public' : 'private';
    const created = (await post(
      server,
      '/api/v1/resources',
      201,
      { name: `bench resource ${i}`, description: 'x'.repeat(120), visibility },
      bearer(jwt),
    )) as { id: string };
    if (visibility === 'private') resourceId ||= created.id;
  }
  const { token: personalToken } = (await post(server, '/api/v1/auth/tokens', 201, { name: 'pair' }, bearer(jwt))) as {
    token: string;
  };
  const { key: apiKey } = (await post(
    server,
    '/api/v1/api-keys',
    201,
    { name: 'pair', scopes: ['resources:read'], rateLimitPerMinute: 100_000 },
    bearer(jwt),
  )) as { key: string };
  return { jwt, resourceId, personalToken, apiKey };
}

interface Side {
  label: 'A' | 'B';
  server: Server;
  fixtures: Fixtures;
}

interface Run {
  cpuMsPerRequest: number;
  /** What the local Postgres spent per request; undefined when it is not a local process. */
  databaseCpuMsPerRequest: number | undefined;
  requestsPerSecond: number;
}

/** A figure of each run, printed as medians (and, for CPU, round by round). */
interface Figure {
  label: string;
  digits: number;
  eachRound: boolean;
  of: (run: Run) => number | undefined;
}

const FIGURES: readonly Figure[] = [
  { label: 'CPU', digits: 3, eachRound: true, of: (run) => run.cpuMsPerRequest },
  { label: 'DB CPU', digits: 3, eachRound: true, of: (run) => run.databaseCpuMsPerRequest },
  { label: 'req/s', digits: 0, eachRound: false, of: (run) => run.requestsPerSecond },
];

function jsonEnv(name: string): Record<string, string> {
  const raw = process.env[name];
  if (!raw) return {};
  const value: unknown = JSON.parse(raw);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`${name} must be a JSON object of environment variables`);
  }
  return Object.fromEntries(Object.entries(value).map(([key, setting]) => [key, String(setting)]));
}

async function main(): Promise<number> {
  const a = process.env.PAIR_A;
  if (!a) throw new Error('PAIR_A must name the build before the change, to compare with PAIR_B (default dist)');
  const builds = { A: a, B: process.env.PAIR_B || 'dist' };
  const names = (process.env.PAIR_SCENARIOS || 'live,read,token,key,list,create,bad').split(',');
  const unknown = names.filter((name) => !Object.hasOwn(SCENARIOS, name));
  if (unknown.length > 0)
    throw new Error(`unknown scenarios ${unknown.join(', ')}; known: ${Object.keys(SCENARIOS).join(', ')}`);
  const rounds = positiveNumber('PAIR_ROUNDS', 4, true);
  const duration = positiveNumber('PAIR_DURATION', 5, true);
  const connections = positiveNumber('PAIR_CONNECTIONS', 32, true);
  const scratch = mkdtempSync(join(tmpdir(), 'bench-pair-'));
  const harnesses: Harness[] = [];
  try {
    const sides: Side[] = [];
    // The change (B) starts first. One build on both sides measured the server started second
    // 3 to 4 % cheaper per request, whichever side it was (docs/performance.md): this way the
    // bias can hide a gain of the change, never make one.
    for (const label of ['B', 'A'] as const) {
      const harness = await openHarness(`pair_${label.toLowerCase()}`, builds[label]);
      harnesses.push(harness);
      const server = await harness.start({
        name: label,
        description: builds[label],
        env: { ...serverEnv, ...jsonEnv(`PAIR_ENV_${label}`) },
        nodeFlags: process.env[`PAIR_FLAGS_${label}`]?.split(' ').filter(Boolean),
      });
      sides.push({ label, server, fixtures: await makeFixtures(server) });
      console.log(`${label}: ${builds[label]} (pid ${server.pid})`);
    }

    // wrk sends a body through a Lua script: one per POST scenario.
    const postScripts = new Map<string, string>();
    for (const name of names) {
      const { body } = SCENARIOS[name]!;
      if (body === undefined) continue;
      const script = join(scratch, `${name}.lua`);
      writeFileSync(
        script,
        `wrk.method = "POST"\nwrk.body = ${JSON.stringify(body)}\nwrk.headers["Content-Type"] = "application/json"\n`,
      );
      postScripts.set(name, script);
    }
    let unexpected = 0;
    const drive = (name: string, side: Side, seconds: number): Run => {
      const scenario = SCENARIOS[name]!;
      const args = ['-t1', `-c${connections}`, `-d${seconds}s`];
      for (const [header, value] of Object.entries(scenario.headers(side.fixtures)))
        args.push('-H', `${header}: ${value}`);
      const script = postScripts.get(name);
      if (script) args.push('-s', script);
      args.push(`${side.server.baseUrl}${scenario.path(side.fixtures)}`);
      const before = cpuMs(side.server.pid);
      const databaseBefore = databaseCpuMs();
      const output = execFileSync('wrk', args, { encoding: 'utf8' });
      const after = cpuMs(side.server.pid);
      const databaseAfter = databaseCpuMs();
      const requests = Number(/(\d+) requests in/.exec(output)?.[1]);
      // wrk counts answers outside 2xx and 3xx; a 401 scenario expects all of them to be.
      const outside = Number(/Non-2xx or 3xx responses: (\d+)/.exec(output)?.[1] ?? 0);
      const off = scenario.expectStatus < 400 ? outside : requests - outside;
      if (off > 0) {
        unexpected += off;
        console.error(`${name} on ${side.label}: ${off} of ${requests} answers were not ${scenario.expectStatus}`);
      }
      if (before === undefined || after === undefined || !requests)
        throw new Error(`no figures for ${name} on ${side.label}`);
      return {
        cpuMsPerRequest: (after - before) / requests,
        databaseCpuMsPerRequest:
          databaseBefore === undefined || databaseAfter === undefined
            ? undefined
            : (databaseAfter - databaseBefore) / requests,
        requestsPerSecond: Number(/Requests\/sec:\s+([\d.]+)/.exec(output)?.[1]),
      };
    };

    for (const name of names) for (const side of sides) drive(name, side, 3);
    const runs = new Map(names.map((name) => [name, { A: [] as Run[], B: [] as Run[] }]));
    for (let round = 0; round < rounds; round += 1) {
      for (const name of names) {
        for (const side of round % 2 === 0 ? sides : [...sides].reverse()) {
          runs.get(name)![side.label].push(drive(name, side, duration));
        }
      }
      console.log(`round ${round + 1} of ${rounds} done`);
    }

    const change = (a: number, b: number) =>
      a === 0 ? 'n/a' : `${b >= a ? '+' : ''}${(((b - a) / a) * 100).toFixed(1)} %`;
    // Postgres's CPU only where every run has it: a Postgres on this machine.
    const allRuns = [...runs.values()].flatMap(({ A, B }) => [...A, ...B]);
    const figures = FIGURES.filter((figure) => allRuns.every((run) => figure.of(run) !== undefined));
    const medianOf = (list: Run[], figure: Figure) => median(list.map((run) => figure.of(run)!));
    console.log(
      `\nmedians of ${rounds} rounds: wrk -t1 -c${connections} -d${duration}s; CPU ms per request from /proc ` +
        "(DB: the local Postgres's, all its processes, while one side runs)",
    );
    printColumns(
      ['scenario', ...figures.flatMap(({ label }) => [`A ${label}`, `B ${label}`, `${label} change`])],
      names.map((name) => {
        const { A, B } = runs.get(name)!;
        return [
          SCENARIOS[name]!.description,
          ...figures.flatMap((figure) => {
            const [a, b] = [medianOf(A, figure), medianOf(B, figure)];
            return [a.toFixed(figure.digits), b.toFixed(figure.digits), change(a, b)];
          }),
        ];
      }),
      [0],
    );
    console.log(
      '\neach round, CPU ms per request (A / B): a change to keep shows in most rounds, not in the median alone',
    );
    for (const name of names) {
      const { A, B } = runs.get(name)!;
      for (const figure of figures.filter(({ eachRound }) => eachRound)) {
        const pairs = A.map(
          (run, i) => `${figure.of(run)!.toFixed(figure.digits)}/${figure.of(B[i]!)!.toFixed(figure.digits)}`,
        );
        console.log(`${name} ${figure.label}: ${pairs.join('  ')}`);
      }
    }
    return unexpected > 0 ? 1 : 0;
  } finally {
    for (const harness of harnesses) await harness.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}

runTool(TOOL, main);
