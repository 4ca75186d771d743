import { randomBytes } from 'node:crypto';
import { Agent } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import * as oauth from 'oauth4webapi';
import pg from 'pg';
import request, { type Response } from 'supertest';
import type TestAgent from 'supertest/lib/agent.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateKeySet } from '../../src/modules/auth/jwt/signing-keys.js';
import { logIn, signedIn, signUp, type SignedUpUser } from '../factories/auth.js';
import { FormBrowser, readForm } from '../factories/oauth.js';
import { startSession } from '../factories/session.js';
import { LoadBalancer, UPSTREAM_HEADER } from '../setup/load-balancer.js';
import { runOnce, ServerProcess } from '../setup/server-process.js';
import { LOCAL_POSTGRES } from '../setup/services.js';
import { describeWithSharedServices, TEST_REDIS_URL, TestDatabase } from '../setup/test-app.js';
import { expectProblem } from '../support/problem-details.js';
import { expectAllowed, expectThrottled } from '../support/rate-limit-headers.js';
import { bearer } from '../support/http.js';

/**
 * Low enough to reach quickly. The limit test's clients have addresses of their own; the
 * other tests' anonymous requests (sign-ups, sign-ins, the OAuth server's pages and token
 * endpoint, all limited per address) come from 127.0.0.1, below it.
 */
const ANONYMOUS_LIMIT = 60;
/** A build, the migration job and two boots, on a busy two-core machine. */
const BOOT_WITHIN_MS = 180_000;
const REVOKED_WITHIN_MS = 1_000;
const POLL_EVERY_MS = 20;
const REDIRECT_URI = 'https://client.example.test/callback';
const insecure = { [oauth.allowInsecureRequests]: true } as const;

const secret = () => randomBytes(32).toString('base64url');
const answeredBy = (res: Response) => res.headers[UPSTREAM_HEADER] as string | undefined;

/** A client of the balancer whose connections come from `address` (all of 127.0.0.0/8 is loopback). */
function clientAt(balancer: LoadBalancer, address: string) {
  const connections = new Agent({ localAddress: address });
  return { get: (path: string) => request(balancer.origin).get(path).agent(connections) };
}

/**
 * Two instances of the built server, each its own OS process, as docker-compose's scale
 * profile runs them: one Postgres database (migrated once by the one-off job), one Redis
 * (under a prefix of this file's), the same secrets and public URL, and a load balancer
 * in front that they trust. Whatever one instance knows that the other must know has to
 * travel through Postgres or Redis: there is no memory they share.
 */
describeWithSharedServices('two server processes behind one load balancer', () => {
  let database: TestDatabase;
  let a: ServerProcess;
  let b: ServerProcess;
  let balancer: LoadBalancer;
  let onA: TestAgent;
  let onB: TestAgent;
  /** What started, to be stopped even when the other failed to. */
  let running: ServerProcess[] = [];

  beforeAll(async () => {
    database = (await TestDatabase.create(process.env.DATABASE_URL || LOCAL_POSTGRES)).retain();
    // Up first: its origin is the public URL (and OAuth issuer) the instances are given.
    balancer = await LoadBalancer.start();
    const env = {
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      DATA_DIR: ':memory:',
      DATABASE_URL: database.url,
      DB_MIGRATIONS_RUN: 'false',
      REDIS_URL: TEST_REDIS_URL,
      REDIS_KEY_PREFIX: `test:${randomBytes(6).toString('hex')}:`,
      PUBLIC_URL: balancer.origin,
      TRUST_PROXY: '127.0.0.1',
      JWT_KEYS: JSON.stringify(await generateKeySet()),
      CSRF_SECRET: secret(),
      API_KEY_PEPPER: secret(),
      OAUTH_COOKIE_KEYS: secret(),
      RATE_LIMIT_ANON: `${ANONYMOUS_LIMIT}/min`,
      // Sign-ins and the OAuth token endpoint from 127.0.0.1 count here; no test here is about it.
      RATE_LIMIT_AUTH: '1000/min',
      SHUTDOWN_GRACE: '0',
    };
    await runOnce('dist/db/run-migrations.js', [], { env });
    // On a migrated database the instances may boot together, as the compose replicas do.
    const started = await Promise.allSettled([
      ServerProcess.start('instance A', env),
      ServerProcess.start('instance B', env),
    ]);
    running = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    for (const result of started) if (result.status === 'rejected') throw result.reason;
    [a, b] = running as [ServerProcess, ServerProcess];
    onA = request(a.origin);
    onB = request(b.origin);
    balancer.add(a.origin);
    balancer.add(b.origin);
  }, BOOT_WITHIN_MS);

  afterEach(() => balancer?.pin());

  afterAll(async () => {
    await balancer?.close();
    // Both stop, and each must exit 0 (SIGTERM: drain, close, exit), whatever the other did.
    const stopped = await Promise.allSettled(running.map((instance) => instance.stop()));
    await database?.release();
    for (const result of stopped) if (result.status === 'rejected') throw result.reason;
  });

  it('should let one client through the anonymous limit once in all, whichever instance answers', async () => {
    const client = clientAt(balancer, '127.0.0.61');
    const responses: Response[] = [];
    for (let sent = 0; sent < ANONYMOUS_LIMIT + 2; sent++) responses.push(await client.get('/api/v1/resources'));

    // The balancer took turns: each instance saw half, alone never reaching the limit.
    const upstreams = responses.map(answeredBy);
    expect(upstreams.filter((upstream) => upstream === a.origin)).toHaveLength(ANONYMOUS_LIMIT / 2 + 1);
    expect(upstreams.filter((upstream) => upstream === b.origin)).toHaveLength(ANONYMOUS_LIMIT / 2 + 1);
    for (const res of responses.slice(0, ANONYMOUS_LIMIT)) expect(res.status, res.text).toBe(200);
    // The (limit + 1)th, and the next on the other instance, are refused.
    const refused = responses.slice(ANONYMOUS_LIMIT);
    expect(new Set(refused.map(answeredBy))).toEqual(new Set([a.origin, b.origin]));
    for (const res of refused) expectThrottled(res, { limit: ANONYMOUS_LIMIT, name: 'anonymous' });

    // The bucket was the client's, from X-Forwarded-For, not the balancer's own address.
    const other = await clientAt(balancer, '127.0.0.62').get('/api/v1/resources');
    expectAllowed(other, { limit: ANONYMOUS_LIMIT, remaining: ANONYMOUS_LIMIT - 1 });
  });

  it('should raise one denied-per-address alert for a burst spread across both instances', async () => {
    // ALERT_DENIED_PER_ADDRESS is 50 by default: each instance sees 25 of these, half the threshold.
    const address = '127.0.0.63';
    const client = clientAt(balancer, address);
    const upstreams: (string | undefined)[] = [];
    for (let sent = 0; sent < 50; sent++) {
      const res = await client.get('/api/v1/resources').set(bearer(randomBytes(24).toString('base64url')));
      expect([401, 429]).toContain(res.status);
      upstreams.push(answeredBy(res));
    }
    expect(upstreams.filter((upstream) => upstream === a.origin)).toHaveLength(25);
    const alerts = async () => {
      const db = new pg.Client({ connectionString: database.url });
      await db.connect();
      try {
        const { rows } = await db.query<{ details: { detector: string } }>(
          `SELECT details FROM audit_events WHERE action = 'security.alert' AND target = $1`,
          [address],
        );
        return rows.filter((row) => row.details.detector === 'denied-per-address');
      } finally {
        await db.end();
      }
    };
    // Each instance writes its audit events within half a second.
    const since = performance.now();
    while ((await alerts()).length === 0 && performance.now() - since < 5_000) await sleep(POLL_EVERY_MS * 10);
    expect(await alerts()).toHaveLength(1);
  });

  it('should refuse on B, within a second, an access token logged out on A', async ({ annotate }) => {
    const { tokens } = await signedIn(onA);
    const me = () => onB.get('/api/v1/auth/me').set(bearer(tokens.access_token));
    // B has verified (and remembered) the token before A revokes it.
    await me().expect(200);
    await onA
      .post('/api/v1/auth/logout')
      .set(bearer(tokens.access_token))
      .send({ refresh_token: tokens.refresh_token })
      .expect(204);
    const since = performance.now();
    for (let polls = 1; ; polls++) {
      const res = await me();
      const elapsed = performance.now() - since;
      if (res.status === 401) {
        await annotate(`B refused the token ${elapsed.toFixed(1)} ms (poll ${polls}) after A answered the logout`);
        break;
      }
      expect(res.status).toBe(200);
      if (elapsed >= REVOKED_WITHIN_MS) expect.fail(`B still accepted the token ${Math.round(elapsed)} ms later`);
      await sleep(POLL_EVERY_MS);
    }
    expectProblem(await onB.post('/api/v1/auth/refresh').send({ refresh_token: tokens.refresh_token }), 401);
  });

  it('should take on B a session started on A, CSRF token included, and end it on A when B signs out', async () => {
    const user = await signUp(onA);
    const session = await startSession(onA, user);
    const withToken = { Cookie: session.cookie, 'X-CSRF-Token': session.csrfToken };
    const create = (headers: Record<string, string>) =>
      onB.post('/api/v1/resources').set(headers).send({ name: 'written on B', visibility: 'private' });

    // A forged cross-site write carries the cookie but not the token: B refuses it as A would.
    expectProblem(await create({ Cookie: session.cookie }), 403);
    const created = await create(withToken);
    expect(created.status, created.text).toBe(201);
    await onA.get(`/api/v1/resources/${created.body.id}`).set('Cookie', session.cookie).expect(200);

    await onB.delete('/api/v1/auth/session').set(withToken).expect(204);
    expectProblem(await onA.get('/api/v1/auth/me').set('Cookie', session.cookie), 401);
  });

  describe('the authorization server', () => {
    let as: oauth.AuthorizationServer;
    let client: oauth.Client;
    let clientAuth: oauth.ClientAuth;

    beforeAll(async () => {
      // An admin may register clients. `npm run cli -- create-admin` cannot boot at present (its
      // module has no EventEmitter for UsersService), so the role is set as that command stores it.
      const admin = await signUp(onA);
      const db = new pg.Client({ connectionString: database.url });
      await db.connect();
      try {
        await db.query(`UPDATE users SET roles = ARRAY['admin'] WHERE id = $1`, [admin.id]);
      } finally {
        await db.end();
      }
      const { access_token } = await logIn(onA, admin);
      const registered = await onB
        .post('/api/v1/oauth-clients')
        .set(bearer(access_token))
        .send({
          name: 'Scale-out client',
          redirectUris: [REDIRECT_URI],
          grantTypes: ['authorization_code', 'refresh_token'],
          scopes: ['resources:read'],
          public: false,
        })
        .expect(201);
      client = { client_id: registered.body.clientId as string };
      clientAuth = oauth.ClientSecretBasic(registered.body.clientSecret as string);
      const issuer = new URL(balancer.origin);
      as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, insecure));
    });

    /** The sign-in and consent pages, as a browser goes through them; the callback with the code. */
    async function authorize(user: SignedUpUser, codeChallenge: string): Promise<URL> {
      const url = new URL(as.authorization_endpoint as string);
      url.search = new URLSearchParams({
        client_id: client.client_id,
        response_type: 'code',
        redirect_uri: REDIRECT_URI,
        scope: 'resources:read',
        state: 'st4te',
        code_challenge: codeChallenge,
        code_challenge_method: 'S256',
      }).toString();
      const browser = new FormBrowser(balancer.origin);
      const login = await readForm(await browser.follow(await browser.get(url.href)));
      const credentials = { csrf: login.csrf, email: user.email, password: user.password };
      const consent = await readForm(await browser.follow(await browser.post(login.actions[0] as string, credentials)));
      const done = await browser.follow(await browser.post(consent.actions[0] as string, { csrf: consent.csrf }));
      expect(done.status).toBe(303);
      return new URL(done.headers.get('location') as string);
    }

    const api = (instance: TestAgent, token: string) => instance.get('/api/v1/resources').set(bearer(token));

    it('should redeem on B a code issued through A, rotate on A, and refuse the code again on A', async () => {
      const user = await signUp(onA);
      const verifier = oauth.generateRandomCodeVerifier();
      balancer.pin(a.origin);
      const callback = await authorize(user, await oauth.calculatePKCECodeChallenge(verifier));
      const params = oauth.validateAuthResponse(as, client, callback, 'st4te');

      const redeem = () =>
        oauth.authorizationCodeGrantRequest(as, client, clientAuth, params, REDIRECT_URI, verifier, insecure);
      balancer.pin(b.origin);
      const redeemed = await redeem();
      expect(redeemed.headers.get(UPSTREAM_HEADER)).toBe(b.origin);
      const tokens = await oauth.processAuthorizationCodeResponse(as, client, redeemed);
      await api(onA, tokens.access_token).expect(200);

      balancer.pin(a.origin);
      const rotation = await oauth.refreshTokenGrantRequest(
        as,
        client,
        clientAuth,
        tokens.refresh_token as string,
        insecure,
      );
      expect(rotation.headers.get(UPSTREAM_HEADER)).toBe(a.origin);
      const rotated = await oauth.processRefreshTokenResponse(as, client, rotation);
      expect(rotated.refresh_token).toBeTruthy();
      expect(rotated.refresh_token).not.toBe(tokens.refresh_token);
      await api(onB, rotated.access_token).expect(200);

      // A replayed code (B redeemed it, A sees it now) is refused and kills its grant everywhere.
      const replay = await redeem();
      expect(replay.headers.get(UPSTREAM_HEADER)).toBe(a.origin);
      expect(replay.status).toBe(400);
      expect(await replay.json()).toMatchObject({ error: 'invalid_grant' });
      expectProblem(await api(onB, rotated.access_token), 401);
    });
  });
});
