import { Agent } from 'node:http';
import type { Response } from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsersService } from '../../src/modules/users/users.service.js';
import { signedIn, type TokenPair } from '../factories/auth.js';
import { newRegistration } from '../factories/users.js';
import { startTestApp, type TestApp } from '../setup/test-app.js';
import { expectProblem } from '../support/problem-details.js';
import { expectAllowed, expectRateLimitHeaders, expectThrottled } from '../support/rate-limit-headers.js';
import { bearer } from '../support/http.js';

/** A public route anonymous callers may read: every request to it counts against its caller's bucket. */
const PUBLIC_LIST = '/api/v1/resources';

function withApp(env: Record<string, string>): () => TestApp {
  let t: TestApp | undefined;
  beforeAll(async () => {
    t = await startTestApp(env);
  });
  afterAll(() => t?.close());
  return () => {
    if (!t) throw new Error('the app did not start');
    return t;
  };
}

/**
 * A client whose connections come from `address`. Linux routes all of 127.0.0.0/8 to the
 * loopback interface, so each test gets a socket address, hence buckets, of its own on
 * one app, and a real second client where a test needs one.
 */
function clientAt(app: () => TestApp, address: string) {
  const agent = new Agent({ localAddress: address });
  return {
    get: (path: string) => app().http.get(path).agent(agent),
    post: (path: string) => app().http.post(path).agent(agent),
  };
}

/** Sends `send` until it is refused with 429 (at most `bound` times), and returns that answer. */
async function untilThrottled(send: () => Promise<Response>, bound: number): Promise<Response> {
  for (let sent = 1; sent <= bound; sent++) {
    const res = await send();
    if (res.status === 429) return res;
    expect(res.status, res.text).toBe(200);
  }
  return expect.fail(`still not limited after ${bound} requests`);
}

describe('rate limits (RATE_LIMIT_ANON=5/min, RATE_LIMIT_USER=5/min, RATE_LIMIT_AUTH=3/min)', () => {
  const app = withApp({ RATE_LIMIT_ANON: '5/min', RATE_LIMIT_USER: '5/min', RATE_LIMIT_AUTH: '3/min' });

  describe('for anonymous callers', () => {
    it('should report the limit on each allowed response, then answer 429 with Retry-After and problem+json', async () => {
      const client = clientAt(app, '127.0.0.11');
      for (let remaining = 4; remaining >= 0; remaining--) {
        expectAllowed(await client.get(PUBLIC_LIST), { limit: 5, remaining });
      }
      for (let i = 0; i < 3; i++) expectThrottled(await client.get(PUBLIC_LIST), { limit: 5, name: 'anonymous' });
      // The bucket is the address's: another client is not affected.
      expectAllowed(await clientAt(app, '127.0.0.12').get(PUBLIC_LIST), { limit: 5, remaining: 4 });
    });

    it('should answer /health/live, without RateLimit headers, while the address is over its limit', async () => {
      const client = clientAt(app, '127.0.0.13');
      await untilThrottled(() => client.get(PUBLIC_LIST), 6);
      for (let i = 0; i < 20; i++) {
        const res = await client.get('/health/live');
        expect(res.status).toBe(200);
        expect(res.headers['ratelimit-limit']).toBeUndefined();
        expect(res.headers['retry-after']).toBeUndefined();
      }
    });

    it('should not open a fresh bucket for a forged X-Forwarded-For when TRUST_PROXY is unset', async () => {
      const client = clientAt(app, '127.0.0.14');
      const forged = (i: number) => client.get(PUBLIC_LIST).set('X-Forwarded-For', `198.51.100.${i}`);
      for (let i = 1; i <= 5; i++) expectAllowed(await forged(i), { limit: 5, remaining: 5 - i });
      for (let i = 6; i <= 15; i++) expectThrottled(await forged(i), { limit: 5, name: 'anonymous' });
      expectThrottled(await client.get(PUBLIC_LIST), { limit: 5, name: 'anonymous' });
    });

    it('should count an invalid bearer token against its address: 401 within the limit, 429 past it', async () => {
      const client = clientAt(app, '127.0.0.15');
      const guess = () => client.get('/api/v1/auth/me').set('Authorization', 'Bearer not-a-real-token');
      for (let remaining = 4; remaining >= 0; remaining--) {
        const res = await guess();
        expectProblem(res, 401);
        expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="api", error="invalid_token"/);
        expectRateLimitHeaders(res, { limit: 5, remaining });
      }
      for (let i = 0; i < 3; i++) expectThrottled(await guess(), { limit: 5, name: 'anonymous' });
      // The guesses spent the address's anonymous budget.
      expectThrottled(await client.get(PUBLIC_LIST), { limit: 5, name: 'anonymous' });
    });
  });

  describe('for login and register', () => {
    it('should refuse the 4th from one address with 429, valid credentials and all, register included', async () => {
      const user = newRegistration();
      await app().app.get(UsersService).register(user);
      const credentials = { email: user.email, password: user.password };
      const client = clientAt(app, '127.0.0.16');

      const registered = await client.post('/api/v1/auth/register').send(newRegistration());
      expect(registered.status, registered.text).toBe(201);
      expectRateLimitHeaders(registered, { limit: 3, remaining: 2 });
      for (let remaining = 1; remaining >= 0; remaining--) {
        expectAllowed(await client.post('/api/v1/auth/login').send(credentials), { limit: 3, remaining });
      }
      expectThrottled(await client.post('/api/v1/auth/login').send(credentials), { limit: 3, name: 'auth' });
      expectThrottled(await client.post('/api/v1/auth/register').send(newRegistration()), { limit: 3, name: 'auth' });

      // Per address: the same account signs in from another one.
      const elsewhere = await clientAt(app, '127.0.0.17').post('/api/v1/auth/login').send(credentials);
      expectAllowed(elsewhere, { limit: 3, remaining: 2 });
    });
  });

  // SECURITY.md: only refused requests count against an address before its credential is
  // looked up, so many users behind one NAT are not limited at the anonymous rate.
  describe('for users behind one address', () => {
    it('should hold signed-in users to their own limits, not to the anonymous rate of their shared address', async () => {
      const nat = clientAt(app, '127.0.0.41');
      const users: TokenPair[] = [];
      for (const home of ['127.0.0.42', '127.0.0.43']) {
        const user = newRegistration();
        await app().app.get(UsersService).register(user);
        const login = await clientAt(app, home)
          .post('/api/v1/auth/login')
          .send({ email: user.email, password: user.password });
        expect(login.status, login.text).toBe(200);
        users.push(login.body as TokenPair);
      }
      // Ten signed-in reads from the address, twice its anonymous limit: five per user, each within theirs.
      for (const user of users) {
        for (let remaining = 4; remaining >= 0; remaining--) {
          expectAllowed(await nat.get(PUBLIC_LIST).set(bearer(user)), { limit: 5, remaining });
        }
      }
      // The address's anonymous budget is still whole.
      for (let remaining = 4; remaining >= 0; remaining--) {
        expectAllowed(await nat.get(PUBLIC_LIST), { limit: 5, remaining });
      }
      expectThrottled(await nat.get(PUBLIC_LIST), { limit: 5, name: 'anonymous' });
    });
  });

  describe('for users and their API keys', () => {
    function created(res: Response): Record<string, unknown> {
      expect(res.status, res.text).toBe(201);
      return res.body as Record<string, unknown>;
    }

    it('should hold a user at their limit on every credential, API keys included', async () => {
      const client = clientAt(app, '127.0.0.18');
      const { tokens } = await signedIn(app().http);
      const createKey = (body: Record<string, unknown>) =>
        client
          .post('/api/v1/api-keys')
          .set(bearer(tokens))
          .send({ name: 'ci', scopes: ['resources:read'], ...body });
      // Three of the user's five requests.
      const limitedKey = created(await createKey({ rateLimitPerMinute: 3 })).key as string;
      const defaultKey = created(await createKey({}));
      // A key gets at most its owner's limit.
      expect(defaultKey.rateLimitPerMinute).toBe(5);
      const personal = created(await client.post('/api/v1/auth/tokens').set(bearer(tokens)).send({ name: 'cli' }));
      const me = () => client.get('/api/v1/auth/me').set(bearer(tokens));
      for (let remaining = 1; remaining >= 0; remaining--) expectAllowed(await me(), { limit: 5, remaining });

      expectThrottled(await me(), { limit: 5, name: 'user' });
      // The bucket is the user's, whichever of their credentials they use: a key lifts nothing.
      const byPersonalToken = client.get('/api/v1/auth/me').set('Authorization', `Token ${personal.token as string}`);
      expectThrottled(await byPersonalToken, { limit: 5, name: 'user' });
      expectThrottled(await client.get(PUBLIC_LIST).set('X-API-Key', limitedKey), { limit: 5, name: 'user' });
      expectThrottled(await client.get(PUBLIC_LIST).set('X-API-Key', defaultKey.key as string), {
        limit: 5,
        name: 'user',
      });
    });

    it("should limit each API key by its own rateLimitPerMinute within its owner's budget", async () => {
      // Signed up and in from an address of its own: 127.0.0.1 spent its auth budget above.
      const client = clientAt(app, '127.0.0.19');
      const registration = newRegistration();
      expect((await client.post('/api/v1/auth/register').send(registration)).status).toBe(201);
      const login = await client
        .post('/api/v1/auth/login')
        .send({ email: registration.email, password: registration.password });
      expect(login.status).toBe(200);
      const tokens = login.body as TokenPair;
      const key = created(
        await client
          .post('/api/v1/api-keys')
          .set(bearer(tokens))
          .send({ name: 'ci', scopes: ['resources:read'], rateLimitPerMinute: 2 }),
      ).key as string;
      const withKey = () => client.get(PUBLIC_LIST).set('X-API-Key', key);
      for (let remaining = 1; remaining >= 0; remaining--) expectAllowed(await withKey(), { limit: 2, remaining });
      expectThrottled(await withKey(), { limit: 2, name: 'api-key' });
      // The key's uses, the refused one too, were the owner's: 5 - 1 (creating it) - 3 - 1 (this).
      expectAllowed(await client.get('/api/v1/auth/me').set(bearer(tokens)), { limit: 5, remaining: 0 });
    });
  });
});

describe('rate limits behind a trusted proxy on loopback (TRUST_PROXY=loopback, RATE_LIMIT_ANON=5/min)', () => {
  const app = withApp({ RATE_LIMIT_ANON: '5/min', TRUST_PROXY: 'loopback' });

  it('should key the bucket on the client address in X-Forwarded-For', async () => {
    const from = (address: string) => app().http.get(PUBLIC_LIST).set('X-Forwarded-For', address);
    for (let remaining = 4; remaining >= 0; remaining--) {
      expectAllowed(await from('203.0.113.7'), { limit: 5, remaining });
    }
    expectThrottled(await from('203.0.113.7'), { limit: 5, name: 'anonymous' });
    // Another client behind the same proxy, and the proxy itself, have buckets of their own.
    expectAllowed(await from('203.0.113.8'), { limit: 5, remaining: 4 });
    expectAllowed(await app().http.get(PUBLIC_LIST), { limit: 5, remaining: 4 });
  });

  it('should count every address of one IPv6 /64 in one bucket, and the next /64 apart', async () => {
    const from = (address: string) => app().http.get(PUBLIC_LIST).set('X-Forwarded-For', address);
    // An attacker holding a /64 takes a fresh address for every request.
    for (let remaining = 4; remaining >= 0; remaining--) {
      expectAllowed(await from(`2001:db8:7:1::${remaining + 1}`), { limit: 5, remaining });
    }
    expectThrottled(await from('2001:db8:7:1:ffff:ffff:ffff:ffff'), { limit: 5, name: 'anonymous' });
    expectAllowed(await from('2001:db8:7:2::1'), { limit: 5, remaining: 4 });
  });
});
