import { randomBytes } from 'node:crypto';
import type autocannon from 'autocannon';

/** What every scenario may use to prepare itself against the running server. */
export interface ScenarioContext {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  baseUrl: string;
  /** The throwaway database the server runs on, for scenarios that seed data directly. */
  databaseUrl: string;
}

/** Autocannon options a scenario may set; the runner owns the target, load and duration. */
export type ScenarioOptions = Omit<
  autocannon.Options,
  'url' | 'method' | 'connections' | 'duration' | 'amount'
>;

export interface Scenario {
  /** Unique; the table and .bench/last.json key results by it. */
  name: string;
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  /** Every response must have this status; anything else fails the run. */
  expectStatus: number;
  /**
   * Called before each autocannon run (the warm-up and the measured one), so per-run state
   * such as counters for unique values belongs in its closure.
   */
  setup?: (ctx: ScenarioContext) => ScenarioOptions | Promise<ScenarioOptions>;
  /** The baseline the other scenarios' req/s are divided by; exactly one scenario has it. */
  floor?: boolean;
}

/**
 * One fixed password: the strength check's cost depends heavily on the characters (40 to
 * 160 ms for `Tidal-Orbit-<8 random hex>-Quartz!`), so a random one would make runs
 * incomparable. Strong enough to pass the policy, unrelated to the emails below.
 */
const PASSWORD = 'Tidal-Orbit-ab12cd34-Quartz!';

export const scenarios: Scenario[] = [
  {
    name: 'GET /health/live',
    method: 'GET',
    path: '/health/live',
    expectStatus: 200,
  },
  {
    name: 'GET /bench/public',
    method: 'GET',
    path: '/bench/public',
    expectStatus: 200,
    floor: true,
  },
  {
    name: 'POST /api/v1/auth/register',
    method: 'POST',
    path: '/api/v1/auth/register',
    expectStatus: 201,
    setup: () => {
      // A fresh prefix per run keeps emails unique across the warm-up and the measured run,
      // so the 409 path is never what gets measured.
      const prefix = randomBytes(4).toString('hex');
      let n = 0;
      return {
        headers: { 'content-type': 'application/json' },
        requests: [
          {
            setupRequest: (request) => {
              n += 1;
              return {
                ...request,
                body: JSON.stringify({
                  email: `bench-${prefix}-${n}@example.com`,
                  password: PASSWORD,
                  displayName: `Bench ${n}`,
                }),
              };
            },
          },
        ],
      };
    },
  },
];
