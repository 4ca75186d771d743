import { randomBytes } from 'node:crypto';
import type autocannon from 'autocannon';

/** What every scenario may use to prepare itself against the server it targets. */
export interface ScenarioContext {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  baseUrl: string;
  /** The throwaway database the servers run on, for scenarios that seed data directly. */
  databaseUrl: string;
  /** The name of the server (see `servers`) this context belongs to. */
  server: string;
  /**
   * Runs `create` once per server and hands every later caller the same result: fixtures
   * (a signed-in user, a session, ...) shared by the scenarios of one server. Each server
   * signs its own JWTs and keeps its own secrets, so fixtures are not shared across servers.
   */
  once<T>(key: string, create: () => Promise<T>): Promise<T>;
}

/**
 * Autocannon options a scenario may set; the runner owns the target, load and duration.
 * `path` replaces the scenario's path, for ids known only once the fixtures exist.
 */
export type ScenarioOptions = Omit<autocannon.Options, 'url' | 'method' | 'connections' | 'duration' | 'amount'> & {
  path?: string;
};

/** One `node dist/main.js` the bench starts; every server runs on the same database. */
export interface BenchServer {
  /** Unique; scenarios name the server they target with it. */
  name: string;
  description: string;
  /** Added to (and winning over) `serverEnv` for this server. */
  env: Record<string, string>;
}

export interface Scenario {
  /** Unique; the table, the requirements and .bench/last.json key results by it. */
  name: string;
  /** The server (see `servers`) the scenario runs against; default `main`. */
  server?: string;
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  /** Every response must have this status; anything else fails the run. */
  expectStatus: number;
  /**
   * Called before each autocannon run (the warm-up and every measured one), so per-run
   * state such as counters for unique values belongs in its closure. One-time fixtures go
   * through `ctx.once`.
   */
  setup?: (ctx: ScenarioContext) => ScenarioOptions | Promise<ScenarioOptions>;
  /** The baseline the other scenarios' req/s are divided by; exactly one scenario has it. */
  floor?: boolean;
}

/**
 * The server's event-loop delay while a scenario's load runs (GET /bench/event-loop, a
 * `monitorEventLoopDelay` histogram reset just before): PASS when its p99 is at most `maxP99Ms`.
 */
export interface LoopCheck {
  name: string;
  /** The scenario whose load is measured (its server is the one read). */
  scenario: string;
  maxP99Ms: number;
}

/**
 * A named comparison of two scenarios: ratio = subject req/s ÷ baseline req/s, each the
 * median of runs taken back to back, alternating (subject, baseline, subject, ...).
 */
export interface Requirement {
  name: string;
  subject: string;
  baseline: string;
  /** PASS when the ratio is at least this; without it the comparison is reported only. */
  minRatio?: number;
  /**
   * The issue #21 goal this requirement is (bench/goals.ts): its ratio is that goal's figure
   * when no peer comparison ran, and its minRatio the goal's bound in both cases.
   */
  goal?: 'S3' | 'S4' | 'S8';
}

/**
 * One fixed password: the strength check's cost depends heavily on the characters (40 to
 * 160 ms for `Tidal-Orbit-<8 random hex>-Quartz!`), so a random one would make runs
 * incomparable. Strong enough to pass the policy, unrelated to the emails below.
 */
export const PASSWORD = 'Tidal-Orbit-ab12cd34-Quartz!';

const RUN_ID = randomBytes(4).toString('hex');

/** The one user the authenticated scenarios act as (role `user`: resources:read and :write). */
const BENCH_USER = { email: `bench-user-${RUN_ID}@example.com`, password: PASSWORD, displayName: 'Bench user' };
/**
 * Whom the login scenario signs in, thousands of times: not the bench user, whose first sign-in
 * the other scenarios use and MAX_SIGN_INS_PER_USER would end.
 */
const LOGIN_USER = { email: `bench-login-${RUN_ID}@example.com`, password: PASSWORD, displayName: 'Bench login' };

/** Far beyond anything autocannon reaches, so no scenario is ever rate limited. */
const UNLIMITED_RATE = '100000000/min';

/** Environment for every server, on top of what bench/run.ts sets (development, Postgres, ...). */
export const serverEnv: Record<string, string> = {
  RATE_LIMIT_ANON: UNLIMITED_RATE,
  RATE_LIMIT_USER: UNLIMITED_RATE,
  RATE_LIMIT_AUTH: UNLIMITED_RATE,
  API_KEY_DEFAULT_RATE_LIMIT: '1000000',
  // Only failures count towards lockout; these keep a mistake from locking the bench user out.
  LOCKOUT_MAX_FAILURES: '1000000000',
  LOCKOUT_MAX_FAILURES_PER_ADDRESS: '1000000000',
  // The whole run takes minutes; the access token made once per server must outlive it.
  JWT_ACCESS_TTL: '6h',
  // Sign-up is measured as the API's own work (201 and the user); proving emails by mail is not what is compared.
  EMAIL_VERIFICATION: 'none',
};

export const servers: BenchServer[] = [
  { name: 'main', description: 'rate limits on, counters in memory', env: {} },
  { name: 'no-limits', description: 'RATE_LIMITS_ENABLED=false', env: { RATE_LIMITS_ENABLED: 'false' } },
  {
    name: 'redis',
    description: 'rate limits on, counters in Redis',
    env: {
      REDIS_URL: process.env.BENCH_REDIS_URL || 'redis://127.0.0.1:6379',
      // Unique per run: counters of an earlier run (or of tests sharing the Redis) never count.
      REDIS_KEY_PREFIX: `bench-${RUN_ID}:`,
    },
  },
];

// --- fixtures, made through the HTTP API ---

/** A request of the setup, made as a client would; any other status than `expectStatus` stops the run. */
export async function call(
  ctx: Pick<ScenarioContext, 'baseUrl' | 'server'>,
  method: string,
  path: string,
  expectStatus: number,
  options: { body?: unknown; headers?: Record<string, string> } = {},
): Promise<Response> {
  const response = await fetch(`${ctx.baseUrl}${path}`, {
    method,
    headers: { ...(options.body === undefined ? {} : { 'content-type': 'application/json' }), ...options.headers },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  if (response.status !== expectStatus) {
    throw new Error(
      `bench setup: ${method} ${path} on "${ctx.server}" answered ${response.status}, expected ${expectStatus}: ` +
        (await response.text()).slice(0, 500),
    );
  }
  return response;
}

/** The user exists (all servers share the database, so the second one gets 409). */
function registeredUser(ctx: ScenarioContext, user: typeof BENCH_USER = BENCH_USER): Promise<void> {
  return ctx.once(`user ${user.email}`, async () => {
    const response = await fetch(`${ctx.baseUrl}/api/v1/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(user),
    });
    if (response.status !== 201 && response.status !== 409) {
      throw new Error(`bench setup: register answered ${response.status}: ${(await response.text()).slice(0, 500)}`);
    }
  });
}

function accessToken(ctx: ScenarioContext): Promise<string> {
  return ctx.once('jwt', async () => {
    await registeredUser(ctx);
    const response = await call(ctx, 'POST', '/api/v1/auth/login', 200, {
      body: { email: BENCH_USER.email, password: BENCH_USER.password },
    });
    return ((await response.json()) as { access_token: string }).access_token;
  });
}

async function bearer(ctx: ScenarioContext): Promise<Record<string, string>> {
  return { authorization: `Bearer ${await accessToken(ctx)}` };
}

function personalToken(ctx: ScenarioContext): Promise<string> {
  return ctx.once('personal-token', async () => {
    const response = await call(ctx, 'POST', '/api/v1/auth/tokens', 201, {
      body: { name: 'bench' },
      headers: await bearer(ctx),
    });
    return ((await response.json()) as { token: string }).token;
  });
}

/** `sid=<value>`, ready for a Cookie header. */
function sessionCookie(ctx: ScenarioContext): Promise<string> {
  return ctx.once('session', async () => {
    await registeredUser(ctx);
    const response = await call(ctx, 'POST', '/api/v1/auth/session', 204, {
      body: { email: BENCH_USER.email, password: BENCH_USER.password },
    });
    const sid = response.headers
      .getSetCookie()
      .map((cookie) => cookie.split(';', 1)[0]!)
      .find((pair) => pair.startsWith('sid='));
    if (!sid) throw new Error('bench setup: POST /api/v1/auth/session set no sid cookie');
    return sid;
  });
}

/** A private resource of the bench user: visible to its JWT and API key, not to anonymous callers. */
function resourceId(ctx: ScenarioContext): Promise<string> {
  return ctx.once('resource', async () => {
    const response = await call(ctx, 'POST', '/api/v1/resources', 201, {
      body: { name: 'bench resource', description: 'read by the GET scenarios', visibility: 'private' },
      headers: await bearer(ctx),
    });
    return ((await response.json()) as { id: string }).id;
  });
}

/** 25 public resources, so an anonymous list of 20 is a full page with a next cursor. */
function publicResources(ctx: ScenarioContext): Promise<void> {
  return ctx.once('public-resources', async () => {
    const headers = await bearer(ctx);
    for (let i = 1; i <= 25; i += 1) {
      await call(ctx, 'POST', '/api/v1/resources', 201, {
        body: { name: `public bench resource ${i}`, visibility: 'public' },
        headers,
      });
    }
  });
}

/**
 * A fresh key per autocannon run: its own rate-limit bucket (at most 100,000/min per key),
 * so no run can exhaust it whatever the throughput. Only the run's first request misses
 * the verified-key cache.
 */
async function freshApiKey(ctx: ScenarioContext): Promise<string> {
  const response = await call(ctx, 'POST', '/api/v1/api-keys', 201, {
    body: { name: `bench ${randomBytes(3).toString('hex')}`, scopes: ['resources:read'], rateLimitPerMinute: 100_000 },
    headers: await bearer(ctx),
  });
  return ((await response.json()) as { key: string }).key;
}

/** `jwt` with its signature's first character changed: well formed, and it does not verify. */
export function tamperSignature(jwt: string): string {
  const [header, payload, signature = ''] = jwt.split('.');
  return `${header}.${payload}.${signature.startsWith('A') ? 'B' : 'A'}${signature.slice(1)}`;
}

/** A well-formed JWT of this server whose signature does not verify. */
async function tamperedJwt(ctx: ScenarioContext): Promise<string> {
  return tamperSignature(await accessToken(ctx));
}

const RESOURCE_BODY = JSON.stringify({
  name: 'bench write',
  description: 'created by the bench',
  visibility: 'private',
});

const json = { 'content-type': 'application/json' };

/**
 * A crafted sign-up: the longest password allowed, made of the email itself (what the
 * similarity check must compare at length), each time a new email. Accepted (at that length
 * difflib's ratio finds it unlike the email, and argon2 hashes it) after the strength worker
 * has done the whole comparison; the loop must not feel either.
 */
const CRAFTED_REGISTRATION = 'POST /api/v1/auth/register (crafted: 256-char password like the email)';
const craftedPassword = (email: string) => email.repeat(Math.ceil(256 / email.length)).slice(0, 256);

/** S8: a refusal must cost less than a success (the interleaved run had it at 1.17x a peer). */
const BAD_JWT_RESOURCE = 'S8 GET /api/v1/resources/:id (bad JWT, 401)';

const PROTECTED_JWT = 'GET /bench/protected (JWT)';
const jwtProtected = (name: string, server: string): Scenario => ({
  name,
  server,
  method: 'GET',
  path: '/bench/protected',
  expectStatus: 200,
  setup: async (ctx) => ({ headers: await bearer(ctx) }),
});

/** S4 of the peer comparison: the resource read with a personal token (`Authorization: Token`). */
const PERSONAL_TOKEN_RESOURCE = 'S4 GET /api/v1/resources/:id (personal token)';

/**
 * A route of the API doing real work (one SQL statement): what the throttler costs there. S2 of
 * the peer comparison: bench/goals.ts reads its p99 when no peer comparison ran.
 */
export const RESOURCE_JWT = 'GET /api/v1/resources/:id (JWT)';
/** GET of the bench user's private resource, with the credential `headers` gives. */
const resourceRead = (
  name: string,
  headers: (ctx: ScenarioContext) => Promise<Record<string, string>>,
  { server = 'main', expectStatus = 200 } = {},
): Scenario => ({
  name,
  server,
  method: 'GET',
  path: '/api/v1/resources/:id',
  expectStatus,
  setup: async (ctx) => ({ path: `/api/v1/resources/${await resourceId(ctx)}`, headers: await headers(ctx) }),
});
const jwtResource = (name: string, server: string): Scenario => resourceRead(name, bearer, { server });

/**
 * Sign-ups with the body `body` gives, each with a new email: a fresh prefix per run keeps
 * emails unique across the warm-up and the measured runs, so the 409 path is never measured.
 */
function signUps(body: (prefix: string, n: number) => Record<string, string>): Scenario['setup'] {
  return () => {
    const prefix = randomBytes(4).toString('hex');
    let n = 0;
    return {
      headers: json,
      requests: [
        {
          setupRequest: (request) => {
            n += 1;
            return { ...request, body: JSON.stringify(body(prefix, n)) };
          },
        },
      ],
    };
  };
}

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
  jwtProtected(PROTECTED_JWT, 'main'),
  jwtProtected(`${PROTECTED_JWT} [no-limits]`, 'no-limits'),
  jwtProtected(`${PROTECTED_JWT} [redis]`, 'redis'),
  {
    name: 'GET /bench/protected (personal token)',
    method: 'GET',
    path: '/bench/protected',
    expectStatus: 200,
    setup: async (ctx) => ({ headers: { authorization: `Token ${await personalToken(ctx)}` } }),
  },
  {
    name: 'GET /bench/protected (session)',
    method: 'GET',
    path: '/bench/protected',
    expectStatus: 200,
    // GET is a safe method: no X-CSRF-Token needed.
    setup: async (ctx) => ({ headers: { cookie: await sessionCookie(ctx) } }),
  },
  {
    name: 'GET /bench/protected (invalid JWT)',
    method: 'GET',
    path: '/bench/protected',
    expectStatus: 401,
    setup: async (ctx) => ({ headers: { authorization: `Bearer ${await tamperedJwt(ctx)}` } }),
  },
  {
    name: 'POST /api/v1/auth/login',
    method: 'POST',
    path: '/api/v1/auth/login',
    expectStatus: 200,
    setup: async (ctx) => {
      await registeredUser(ctx, LOGIN_USER);
      return { headers: json, body: JSON.stringify({ email: LOGIN_USER.email, password: LOGIN_USER.password }) };
    },
  },
  {
    name: 'POST /api/v1/auth/register',
    method: 'POST',
    path: '/api/v1/auth/register',
    expectStatus: 201,
    setup: signUps((prefix, n) => ({
      email: `bench-${prefix}-${n}@example.com`,
      password: PASSWORD,
      displayName: `Bench ${n}`,
    })),
  },
  {
    name: 'GET /api/v1/resources?limit=20 (anonymous)',
    method: 'GET',
    path: '/api/v1/resources?limit=20',
    expectStatus: 200,
    setup: async (ctx) => {
      await publicResources(ctx);
      return {};
    },
  },
  jwtResource(RESOURCE_JWT, 'main'),
  resourceRead(BAD_JWT_RESOURCE, async (ctx) => ({ authorization: `Bearer ${await tamperedJwt(ctx)}` }), {
    expectStatus: 401,
  }),
  {
    name: CRAFTED_REGISTRATION,
    method: 'POST',
    path: '/api/v1/auth/register',
    expectStatus: 201,
    setup: signUps((prefix, n) => {
      const email = `crafted.${prefix}.${n}@example.com`;
      return { email, password: craftedPassword(email), displayName: `Crafted ${n}` };
    }),
  },
  jwtResource(`${RESOURCE_JWT} [no-limits]`, 'no-limits'),
  jwtResource(`${RESOURCE_JWT} [redis]`, 'redis'),
  resourceRead('GET /api/v1/resources/:id (API key)', async (ctx) => ({ 'x-api-key': await freshApiKey(ctx) })),
  resourceRead(PERSONAL_TOKEN_RESOURCE, async (ctx) => ({ authorization: `Token ${await personalToken(ctx)}` })),
  {
    name: 'POST /api/v1/resources (JWT, audited)',
    method: 'POST',
    path: '/api/v1/resources',
    expectStatus: 201,
    setup: async (ctx) => ({ headers: { ...json, ...(await bearer(ctx)) }, body: RESOURCE_BODY }),
  },
  {
    name: 'POST /bench/resources (JWT, not audited)',
    method: 'POST',
    path: '/bench/resources',
    expectStatus: 201,
    setup: async (ctx) => ({ headers: { ...json, ...(await bearer(ctx)) }, body: RESOURCE_BODY }),
  },
];

export const requirements: Requirement[] = [
  {
    name: 'S8: a bad JWT refused (401) at least 1.5x the valid-JWT read of a resource',
    subject: BAD_JWT_RESOURCE,
    baseline: RESOURCE_JWT,
    minRatio: 1.5,
    goal: 'S8',
  },
  {
    name: 'JWT-guarded tiny route within 20% of the same route public',
    subject: PROTECTED_JWT,
    baseline: 'GET /bench/public',
    minRatio: 0.8,
  },
  {
    name: 'API key GET /resources/:id within 10% of the JWT GET',
    subject: 'GET /api/v1/resources/:id (API key)',
    baseline: RESOURCE_JWT,
    minRatio: 0.9,
    goal: 'S3',
  },
  {
    name: 'S4: personal token GET /resources/:id within 10% of the JWT GET',
    subject: PERSONAL_TOKEN_RESOURCE,
    baseline: RESOURCE_JWT,
    minRatio: 0.9,
    goal: 'S4',
  },
  {
    name: 'Throttler on the JWT route, in memory, vs off (info)',
    subject: PROTECTED_JWT,
    baseline: `${PROTECTED_JWT} [no-limits]`,
  },
  {
    name: 'Throttler overhead on the JWT route, Redis storage, <= 10%',
    subject: `${PROTECTED_JWT} [redis]`,
    baseline: `${PROTECTED_JWT} [no-limits]`,
    minRatio: 0.9,
  },
  {
    name: 'Throttler on GET /api/v1/resources/:id (JWT), Redis storage, vs off (info)',
    subject: `${RESOURCE_JWT} [redis]`,
    baseline: `${RESOURCE_JWT} [no-limits]`,
  },
  {
    name: 'Audit interceptor overhead on POST /resources <= 10%',
    subject: 'POST /api/v1/resources (JWT, audited)',
    baseline: 'POST /bench/resources (JWT, not audited)',
    minRatio: 0.9,
  },
];

export const loopChecks: LoopCheck[] = [
  { name: 'Event-loop delay p99 under crafted registrations <= 20 ms', scenario: CRAFTED_REGISTRATION, maxP99Ms: 20 },
];
