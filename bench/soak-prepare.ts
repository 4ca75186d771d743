/**
 * What the soak's workload (bench/soak-workload.ts) starts from, made through the HTTP API:
 * registered users, each with a JWT pair, a personal token, an API key and resources.
 */
// @ts-expect-error TS5097: Node runs bench/ as TypeScript source, so the import must name the
// .ts file, and tsconfig.json does not allow .ts extensions. Types still flow through.
import { PASSWORD } from './scenarios.ts';
import type { ChurnResource, Send, VirtualUser } from './soak-workload.ts';
// @ts-expect-error TS5097, as above.
import { bearer, logIn, Workload } from './soak-workload.ts';

const READABLE_PER_USER = 3;
const CHURN_PER_USER = 5;
/** So the anonymous list is a full page. */
const PUBLIC_RESOURCES = 25;
const PREPARE_CONCURRENCY = 4;

/**
 * Registers `count` users and gives each a JWT pair, a personal token, an API key (resources
 * read and write) and resources, through `prepareSend`, which must throw on any unexpected
 * answer. The workload then sends through `soakSend`.
 */
export async function prepareWorkload(
  prepareSend: Send,
  soakSend: Send,
  count: number,
  runId: string,
): Promise<Workload> {
  const users: VirtualUser[] = [];
  // One at a time: concurrent registrations would start a second password-strength worker,
  // which exits after a minute idle, in the middle of the soak, and its memory with it: a
  // drop in RSS that would hide that much growth.
  for (let i = 0; i < count; i += 1) users.push(await register(prepareSend, `soak-${runId}-${i}@example.com`));
  const churn: ChurnResource[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const user = users[next++]!;
      await equip(prepareSend, user);
      for (let i = 0; i < CHURN_PER_USER; i += 1) {
        churn.push({ ...(await createResource(prepareSend, user, 'private')), owner: user });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(PREPARE_CONCURRENCY, count) }, worker));
  for (let i = 0; i < PUBLIC_RESOURCES; i += 1) await createResource(prepareSend, users[0]!, 'public');
  return new Workload(soakSend, users, churn);
}

async function register(send: Send, email: string): Promise<VirtualUser> {
  await send('prepare: register', {
    method: 'POST',
    path: '/api/v1/auth/register',
    expectStatus: 201,
    body: { email, password: PASSWORD, displayName: 'Soak user' },
  });
  return {
    email,
    accessToken: '',
    refreshToken: '',
    issuedAt: 0,
    personalToken: '',
    apiKey: '',
    readable: [],
    rotating: false,
    leaving: false,
    inFlight: 0,
    drained: undefined,
  };
}

/** A JWT pair, a personal token, an API key and the resources only ever read. */
async function equip(send: Send, user: VirtualUser): Promise<void> {
  await logIn(send, user);
  const personal = (await send('prepare: personal token', {
    method: 'POST',
    path: '/api/v1/auth/tokens',
    expectStatus: 201,
    headers: bearer(user),
    body: { name: 'soak' },
  })) as { token: string };
  user.personalToken = personal.token;
  const key = (await send('prepare: API key', {
    method: 'POST',
    path: '/api/v1/api-keys',
    expectStatus: 201,
    headers: bearer(user),
    // Its own limit far above what the soak sends with it.
    body: { name: 'soak', scopes: ['resources:read', 'resources:write'], rateLimitPerMinute: 100_000 },
  })) as { key: string };
  user.apiKey = key.key;
  for (let i = 0; i < READABLE_PER_USER; i += 1) {
    user.readable.push((await createResource(send, user, 'private')).id);
  }
}

async function createResource(
  send: Send,
  owner: VirtualUser,
  visibility: 'private' | 'public',
): Promise<{ id: string; version: number }> {
  return (await send('prepare: resource', {
    method: 'POST',
    path: '/api/v1/resources',
    expectStatus: 201,
    headers: bearer(owner),
    body: { name: `soak ${visibility} resource`, description: 'made before the soak', visibility },
  })) as { id: string; version: number };
}
