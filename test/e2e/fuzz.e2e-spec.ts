import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditWriter } from '../../src/modules/audit/audit-writer.js';
import { signedIn, signedInAdmin } from '../factories/auth.js';
import { startTestApp, type TestApp } from '../setup/test-app.js';
import { caseArb, type PrincipalName } from '../fuzz/arbitraries.js';
import { REQUEST_TIMEOUT_MS, judge, send } from '../fuzz/oracle.js';
import { routesOf, type OpenApiDocument, type Route } from '../fuzz/routes.js';
import { World } from '../fuzz/world.js';

/*
 * Walks every route of the OpenAPI document with generated requests, well-formed and not,
 * as anonymous callers and as signed-in users and admins (JWT, personal token, API key,
 * cookie session), and holds each answer to the contract of docs/contract.md's "Everywhere": never a
 * 5xx for what a client sent, an answer in time, every 4xx a problem+json, nothing internal
 * in any body, the security headers and `Cache-Control: no-store` on every answer (the JWKS
 * alone may be cached); and nothing logged as an error meanwhile, on the request path or off it.
 *
 * A request is well-formed but in a few chosen places (its `faults`), so that most reach
 * the code behind validation. Ids and credentials are symbols (`Ref(userId)`), resolved
 * when sent against what the run has created so far, which keeps counterexamples readable.
 *
 * FUZZ_RUNS requests (default 10,000 under CI, else 1,000); FUZZ_SEED (and FUZZ_PATH, as
 * fast-check prints them on failure) replay a run; FUZZ_CONCURRENCY=8 sends batches of
 * requests at once, which also finds races (whose failures then replay less reliably).
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? (process.env.CI ? 10_000 : 1_000));
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);
const PATH = process.env.FUZZ_PATH || undefined;
/** Requests in flight at once; each fast-check run is one batch of this many. */
const CONCURRENCY = Number(process.env.FUZZ_CONCURRENCY ?? 1);

describe('Fuzzing every documented route', () => {
  let t: TestApp;
  let world: World;
  let routes: Route[];

  beforeAll(async () => {
    // Lockout has tests of its own; here it would close every password path after a few guesses.
    t = await startTestApp({ LOCKOUT_MAX_FAILURES: '1000000', LOCKOUT_MAX_FAILURES_PER_ADDRESS: '1000000' });
    // Listening once spares supertest a listen and a close per request, and lets connections be reused.
    await new Promise<void>((resolve) => t.app.getHttpServer().listen(0, '127.0.0.1', resolve));
    const document = await t.http.get('/docs/openapi.json').expect(200);
    routes = routesOf(document.body as OpenApiDocument);
    world = new World(t);
    const user = await signedIn(t.http);
    const admin = await signedInAdmin(t);
    world.user = { ...user.user, admin: false };
    world.admin = { ...admin.user, admin: true };
    world.refreshToken = user.tokens.refresh_token;
    for (const principal of ['user', 'admin', 'userToken', 'userApiKey', 'adminSession'] as const) {
      await world.headersOf(principal);
    }
    const create = async (principal: PrincipalName, visibility: string) => {
      const res = await t.http
        .post('/api/v1/resources')
        .set(await world.headersOf(principal))
        .send({ name: `fuzz ${visibility}`, description: 'seed', visibility });
      expect(res.status).toBe(201);
      return res.body.id as string;
    };
    world.fixtures.resourcePrivate = await create('user', 'private');
    world.fixtures.resourcePublic = await create('admin', 'public');
  });
  afterAll(() => t?.close());

  it(
    `should answer ${RUNS} generated requests without a 5xx, a hang, a bare 4xx or a leak`,
    { timeout: 120_000 + RUNS * 40 },
    async () => {
      console.info(`fuzz: ${RUNS} requests, ${CONCURRENCY} at a time, seed ${SEED} (replay with FUZZ_SEED=${SEED})`);
      const byKey = new Map(routes.map((route) => [route.key, route]));
      const anyCase = fc.oneof(...routes.map(caseArb));
      const statuses = new Map<string, Map<number, number>>();
      const millis = new Map<string, number>();
      let sent = 0;
      const started = Date.now();
      await fc.assert(
        fc.asyncProperty(fc.array(anyCase, { minLength: CONCURRENCY, maxLength: CONCURRENCY }), async (batch) => {
          const outcomes = await Promise.allSettled(
            batch.map(async (c) => {
              const before = performance.now();
              const result = await send(world, byKey, c);
              sent += 1;
              const counts = statuses.get(c.route) ?? new Map<number, number>();
              counts.set(result.res.status, (counts.get(result.res.status) ?? 0) + 1);
              statuses.set(c.route, counts);
              millis.set(c.route, (millis.get(c.route) ?? 0) + performance.now() - before);
              judge(c, result, t.logs.lines);
              world.learn(c, result.res, result.sentBody);
            }),
          );
          const failed = outcomes.find((outcome) => outcome.status === 'rejected');
          if (failed) throw failed.reason;
        }),
        { numRuns: Math.ceil(RUNS / CONCURRENCY), seed: SEED, path: PATH },
      );
      const seconds = (Date.now() - started) / 1000;
      const summary = [...statuses]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([key, counts]) => {
          const byStatus = [...counts].sort(([a], [b]) => a - b);
          const mean = (millis.get(key) ?? 0) / byStatus.reduce((sum, [, n]) => sum + n, 0);
          return `  ${key} (${mean.toFixed(1)} ms): ${byStatus.map(([status, n]) => `${status}×${n}`).join(' ')}`;
        });
      console.info(`fuzz: ${sent} requests in ${seconds.toFixed(1)} s\n${summary.join('\n')}`);
      expect(sent).toBeGreaterThanOrEqual(RUNS);
      if (RUNS >= 1_000) expect([...statuses.keys()].sort()).toEqual(routes.map((route) => route.key).sort());

      // Failures off the request path count too, e.g. audit events the database refused.
      await t.app.get(AuditWriter).drain();
      const errors = t.logs.lines.filter((line) => (JSON.parse(line) as { level: number }).level >= 50);
      expect(errors).toEqual([]);
      const ready = await t.http.get('/health/ready').timeout(REQUEST_TIMEOUT_MS);
      expect(ready.status).toBe(200);
    },
  );
});
