import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import * as oauth from 'oauth4webapi';
import request from 'supertest';
import type TestAgent from 'supertest/lib/agent.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeySet } from '../../src/modules/auth/jwt/signing-keys.js';
import { logIn, signUp, type SignedUpUser, type TokenPair } from '../factories/auth.js';
import { FormBrowser } from '../factories/oauth.js';
import { signInAndAllow } from '../factories/oauth-server.js';
import { startSession } from '../factories/session.js';
import { newRegistration, strongPassword } from '../factories/users.js';
import { LoadBalancer } from '../setup/load-balancer.js';
import { runOnce, ServerProcess } from '../setup/server-process.js';
import { LOCAL_POSTGRES } from '../setup/services.js';
import { describeWithSharedServices, TEST_REDIS_URL, TestDatabase } from '../setup/test-app.js';

/** A build, the migration job and two boots, on a busy two-core machine. */
const BOOT_WITHIN_MS = 180_000;
const REFUSED_WITHIN_MS = 1_000;
const REDIRECT_URI = 'https://client.example.test/callback';
const insecure = { [oauth.allowInsecureRequests]: true } as const;
const secret = () => randomBytes(32).toString('base64url');
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

/** One credential a user holds, and how to present it to an instance (the status it gets). */
interface Held {
  kind: string;
  probe: (instance: TestAgent) => Promise<number>;
}

/**
 * "Credentials die together": for each event that ends credentials, the user holds one of
 * every kind, each checked (and so cached) on instance B; the event happens on instance A;
 * B must refuse every one of them within a second, and nothing comes back afterwards. Two
 * real server processes: what A does reaches B only through Postgres and Redis.
 */
describeWithSharedServices('credentials die together, on two server processes', () => {
  let database: TestDatabase;
  let balancer: LoadBalancer;
  let a: ServerProcess;
  let b: ServerProcess;
  let onA: TestAgent;
  let onB: TestAgent;
  let admin: TokenPair;
  let running: ServerProcess[] = [];
  let as: oauth.AuthorizationServer;

  beforeAll(async () => {
    database = (await TestDatabase.create(process.env.DATABASE_URL || LOCAL_POSTGRES)).retain();
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
      RATE_LIMIT_ANON: '100000/min',
      RATE_LIMIT_USER: '100000/min',
      RATE_LIMIT_AUTH: '100000/min',
      SHUTDOWN_GRACE: '0',
    };
    await runOnce('dist/db/run-migrations.js', [], { env });
    const registration = newRegistration();
    await runOnce('dist/cli.js', ['create-admin', '--email', registration.email], {
      env,
      input: `${registration.password}\n`,
    });
    const started = await Promise.allSettled([ServerProcess.start('A', env), ServerProcess.start('B', env)]);
    running = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    for (const result of started) if (result.status === 'rejected') throw result.reason;
    [a, b] = running as [ServerProcess, ServerProcess];
    onA = request(a.origin);
    onB = request(b.origin);
    // The OAuth pages run behind the balancer's origin (the issuer); pinned to A throughout.
    balancer.add(a.origin);
    balancer.pin(a.origin);
    admin = await logIn(onA, registration);
    const metadata = await fetch(`${balancer.origin}/.well-known/oauth-authorization-server`);
    as = (await metadata.json()) as oauth.AuthorizationServer;
  }, BOOT_WITHIN_MS);

  afterAll(async () => {
    await balancer?.close();
    const stopped = await Promise.allSettled(running.map((instance) => instance.stop()));
    await database?.release();
    for (const result of stopped) if (result.status === 'rejected') throw result.reason;
  });

  /** A user with the admin role (so they can register an OAuth client), signed in on A. */
  async function victim(): Promise<{ user: SignedUpUser; tokens: TokenPair }> {
    const user = await signUp(onA);
    await onA
      .patch(`/api/v1/users/${user.id}`)
      .set(bearer(admin.access_token))
      .send({ roles: ['admin'] })
      .expect(200);
    return { user, tokens: await logIn(onA, user) };
  }

  /** One credential of every kind for the user, each used once on B so that B has it cached. */
  async function holdEveryKind(user: SignedUpUser, tokens: TokenPair): Promise<Held[]> {
    const auth = bearer(tokens.access_token);
    const session = await startSession(onA, user);
    const personal = await onA.post('/api/v1/auth/tokens').set(auth).send({ name: 'laptop' }).expect(201);
    const key = await onA
      .post('/api/v1/api-keys')
      .set(auth)
      .send({ name: 'ci', scopes: ['users:read'] })
      .expect(201);
    const registered = await onA
      .post('/api/v1/oauth-clients')
      .set(auth)
      .send({
        name: 'Reports',
        redirectUris: [REDIRECT_URI],
        grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
        scopes: ['users:read'],
        public: false,
      })
      .expect(201);
    const client = { client_id: registered.body.clientId as string };
    const clientAuth = oauth.ClientSecretBasic(registered.body.clientSecret as string);
    const granted = await codeFlow(user, client, clientAuth);
    const service = await oauth.processClientCredentialsResponse(
      as,
      client,
      await oauth.clientCredentialsGrantRequest(as, client, clientAuth, { scope: 'users:read' }, insecure),
    );
    // What each credential may do: list users (users:read, which the admin role grants).
    const reads = (headers: Record<string, string>) => async (instance: TestAgent) =>
      (await instance.get('/api/v1/users').set(headers)).status;
    const held: Held[] = [
      { kind: 'JWT access token', probe: reads(auth) },
      {
        kind: 'refresh token',
        probe: async (instance) =>
          (await instance.post('/api/v1/auth/refresh').send({ refresh_token: tokens.refresh_token })).status,
      },
      { kind: 'session', probe: reads({ Cookie: session.cookie }) },
      { kind: 'personal token', probe: reads({ Authorization: `Token ${personal.body.token as string}` }) },
      { kind: 'API key', probe: reads({ 'X-API-Key': key.body.key as string }) },
      { kind: 'OAuth access token', probe: reads(bearer(granted.access_token)) },
      {
        kind: 'OAuth refresh token',
        probe: async () =>
          (await oauth.refreshTokenGrantRequest(as, client, clientAuth, granted.refresh_token as string, insecure))
            .status,
      },
      { kind: "client-credentials token of the user's client", probe: reads(bearer(service.access_token)) },
    ];
    // Every one works on B first (the refresh tokens are not spent here: they are tried once, at the end).
    for (const credential of held.filter((h) => !h.kind.includes('refresh'))) {
      expect(await credential.probe(onB), credential.kind).toBe(200);
    }
    return held;
  }

  async function codeFlow(user: SignedUpUser, client: oauth.Client, clientAuth: oauth.ClientAuth) {
    const verifier = oauth.generateRandomCodeVerifier();
    const url = new URL(as.authorization_endpoint as string);
    url.search = new URLSearchParams({
      client_id: client.client_id,
      response_type: 'code',
      redirect_uri: REDIRECT_URI,
      scope: 'users:read',
      state: 's',
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    }).toString();
    const browser = new FormBrowser(balancer.origin);
    const callback = await signInAndAllow(browser, url.href, user);
    const params = oauth.validateAuthResponse(as, client, callback, 's');
    return oauth.processAuthorizationCodeResponse(
      as,
      client,
      await oauth.authorizationCodeGrantRequest(as, client, clientAuth, params, REDIRECT_URI, verifier, insecure),
    );
  }

  /** Polls B until every credential but the `spared` kinds is refused; fails after a second. */
  async function expectRefusedOnB(held: Held[], spared: string[] = []): Promise<void> {
    const deadline = Date.now() + REFUSED_WITHIN_MS;
    const ended = held.filter((h) => !spared.includes(h.kind) && !h.kind.includes('refresh'));
    let accepted = ended;
    while (accepted.length > 0 && Date.now() < deadline) {
      const statuses = await Promise.all(accepted.map((h) => h.probe(onB)));
      accepted = accepted.filter((_, i) => statuses[i] === 200);
      if (accepted.length > 0) await sleep(20);
    }
    expect(accepted.map((h) => h.kind)).toEqual([]);
    // Refresh tokens are tried once, on B: they must not mint anything new.
    for (const refresh of held.filter((h) => h.kind.includes('refresh') && !spared.includes(h.kind))) {
      expect(await refresh.probe(onB), refresh.kind).not.toBe(200);
    }
  }

  it('should end every credential on B within a second of a password change on A', async () => {
    const { user, tokens } = await victim();
    const held = await holdEveryKind(user, tokens);
    await onA
      .post('/api/v1/auth/password')
      .set(bearer(tokens.access_token))
      .send({ currentPassword: user.password, newPassword: strongPassword() })
      .expect(204);
    await expectRefusedOnB(held);
  });

  it('should keep API keys through a password change only when asked to', async () => {
    const { user, tokens } = await victim();
    const held = await holdEveryKind(user, tokens);
    await onA
      .post('/api/v1/auth/password')
      .set(bearer(tokens.access_token))
      .send({ currentPassword: user.password, newPassword: strongPassword(), keepApiKeys: true })
      .expect(204);
    await expectRefusedOnB(held, ['API key']);
    expect(await held.find((h) => h.kind === 'API key')?.probe(onB)).toBe(200);
  });

  it('should end every credential on B within a second of a deactivation on A, and bring none back', async () => {
    const { user, tokens } = await victim();
    const held = await holdEveryKind(user, tokens);
    const path = `/api/v1/users/${user.id}`;
    await onA.patch(path).set(bearer(admin.access_token)).send({ isActive: false }).expect(200);
    await expectRefusedOnB(held);
    await onA.patch(path).set(bearer(admin.access_token)).send({ isActive: true }).expect(200);
    for (const credential of held.filter((h) => !h.kind.includes('refresh'))) {
      expect(await credential.probe(onA), `${credential.kind} after reactivation`).not.toBe(200);
      expect(await credential.probe(onB), `${credential.kind} after reactivation`).not.toBe(200);
    }
    // The account itself works again: a fresh sign-in.
    await logIn(onB, user);
  });

  it('should end every credential on B within a second of a deletion on A', async () => {
    const { user, tokens } = await victim();
    const held = await holdEveryKind(user, tokens);
    await onA.delete(`/api/v1/users/${user.id}`).set(bearer(admin.access_token)).expect(204);
    await expectRefusedOnB(held);
  });

  it('should take the demoted role from every credential on B within a second', async () => {
    const { user, tokens } = await victim();
    const held = await holdEveryKind(user, tokens);
    await onA
      .patch(`/api/v1/users/${user.id}`)
      .set(bearer(admin.access_token))
      .send({ roles: ['user'] })
      .expect(200);
    // users:read came with the admin role: no credential of the user may list users any more.
    await expectRefusedOnB(held, ['refresh token', 'OAuth refresh token']);
  });

  it('should end every credential but the caller on B within a second of signing out everywhere', async () => {
    const { user, tokens } = await victim();
    const held = await holdEveryKind(user, tokens);
    const caller = await startSession(onA, user);
    await onA
      .post('/api/v1/auth/sign-out-everywhere')
      .set({ Cookie: caller.cookie, 'X-CSRF-Token': caller.csrfToken })
      .expect(204);
    await expectRefusedOnB(held);
    // The caller's own session is the one credential left.
    await onB.get('/api/v1/auth/me').set({ Cookie: caller.cookie }).expect(200);
    const listed = await onB.get('/api/v1/auth/credentials').set({ Cookie: caller.cookie }).expect(200);
    expect((listed.body.data as { kind: string; current: boolean }[]).map((c) => [c.kind, c.current])).toEqual([
      ['session', true],
    ]);
  });

  describe('an administrator ending all of a user’s credentials', () => {
    it('should end every credential of the user on B within a second', async () => {
      const { user, tokens } = await victim();
      const held = await holdEveryKind(user, tokens);
      const listed = await onA.get(`/api/v1/users/${user.id}/credentials`).set(bearer(admin.access_token)).expect(200);
      expect(new Set((listed.body.data as { kind: string }[]).map((c) => c.kind))).toEqual(
        new Set(['session', 'refresh-family', 'personal-token', 'api-key', 'oauth-grant']),
      );
      await onA.delete(`/api/v1/users/${user.id}/credentials`).set(bearer(admin.access_token)).expect(204);
      await expectRefusedOnB(held);
      const after = await onB.get(`/api/v1/users/${user.id}/credentials`).set(bearer(admin.access_token)).expect(200);
      expect(after.body.data).toEqual([]);
    });
  });
});
