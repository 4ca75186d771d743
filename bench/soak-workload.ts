/**
 * The soak's mixed workload (bench/soak.ts): virtual users with a JWT pair, a personal token
 * and an API key, the operations they perform with their weights, and the bookkeeping that
 * keeps concurrent operations from tripping over each other. A write never races a read of
 * the same resource, two rotations of one refresh token never overlap, and a logout waits
 * for the user's requests under way: so every answer has exactly one expected status, and
 * anything else is an error of the server.
 */
import { randomInt } from 'node:crypto';
// @ts-expect-error TS5097: Node runs bench/ as TypeScript source, so the import must name the
// .ts file, and tsconfig.json does not allow .ts extensions. Types still flow through.
import { PASSWORD } from './scenarios.ts';

export interface SoakRequest {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** From the server root, e.g. `/api/v1/resources`. */
  path: string;
  expectStatus: number;
  headers?: Record<string, string>;
  body?: unknown;
}

/**
 * Sends one request on behalf of `operation` (the name latencies and errors are counted
 * under). Resolves to the parsed body (null when empty) when the status was the expected
 * one, else to undefined: the error is recorded by the sender, the caller only moves on.
 */
export type Send = (operation: string, request: SoakRequest) => Promise<unknown>;

/** Operation names, as the report shows them. */
export const OPERATIONS = {
  readJwt: 'GET /resources/:id (JWT)',
  listJwt: 'GET /resources (JWT)',
  createJwt: 'POST /resources (JWT)',
  update: 'PATCH /resources/:id (JWT, If-Match)',
  delete: 'DELETE /resources/:id (JWT)',
  readApiKey: 'GET /resources/:id (API key)',
  listApiKey: 'GET /resources (API key)',
  createApiKey: 'POST /resources (API key)',
  listAnonymous: 'GET /resources?visibility=public (anonymous)',
  me: 'GET /auth/me (personal token)',
  refresh: 'POST /auth/refresh',
  login: 'POST /auth/login',
  logout: 'POST /auth/logout',
} as const;

/**
 * Share of the arrivals per operation, in percent. Logins are rare because each hashes a
 * password (argon2 is meant to be expensive); each logout is followed by a login. Creates
 * and deletes balance, so the table holds about as many rows at the end as at the start.
 */
export const WEIGHTS: Record<keyof typeof OPERATIONS, number> = {
  readJwt: 31.5,
  listJwt: 12,
  createJwt: 7,
  update: 8,
  delete: 9,
  readApiKey: 12,
  listApiKey: 5,
  createApiKey: 2,
  listAnonymous: 2,
  me: 5,
  refresh: 4,
  login: 1,
  logout: 0.5,
};

export interface VirtualUser {
  email: string;
  accessToken: string;
  refreshToken: string;
  /** When the pair above was issued (ms): refreshes go to the user whose pair is oldest. */
  issuedAt: number;
  personalToken: string;
  apiKey: string;
  /** Private resources that are only ever read, so no write races a read of them. */
  readable: string[];
  /** A refresh, login or logout is under way: the refresh token is about to change. */
  rotating: boolean;
  /** Logging out: its access token is about to die, so nothing new starts with it. */
  leaving: boolean;
  /** Requests under way with its access token; a logout waits until they are answered. */
  inFlight: number;
  drained: (() => void) | undefined;
}

/** A resource that is created, edited and deleted; checked out while a write is under way. */
export interface ChurnResource {
  id: string;
  version: number;
  owner: VirtualUser;
}

interface TokenPair {
  access_token: string;
  refresh_token: string;
}

/**
 * Seconds between two refreshes of one user's pair at `rate` arrivals per second: refreshes
 * go to the user whose pair is oldest, so every user's turn comes round this often.
 */
export function refreshIntervalSeconds(users: number, rate: number): number {
  const total = Object.values(WEIGHTS).reduce((sum, weight) => sum + weight, 0);
  return users / ((rate * WEIGHTS.refresh) / total);
}

export const bearer = (user: VirtualUser): Record<string, string> => ({ authorization: `Bearer ${user.accessToken}` });
const apiKey = (user: VirtualUser): Record<string, string> => ({ 'x-api-key': user.apiKey });
const pickFrom = <T>(items: T[]): T => items[randomInt(items.length)]!;

export class Workload {
  /** Arrivals that found no user free for their operation (all busy rotating or leaving). */
  skipped = 0;
  private readonly users: VirtualUser[];
  /** Churn resources no write is under way on. */
  private readonly idle: ChurnResource[];
  private readonly operations: { weight: number; run: () => Promise<void> }[];
  private readonly totalWeight: number;
  private readonly send: Send;
  private writes = 0;

  // Plain fields: Node strips types only, and parameter properties are not just types.
  constructor(send: Send, users: VirtualUser[], churn: ChurnResource[]) {
    this.send = send;
    this.users = users;
    this.idle = churn;
    const runs: Record<keyof typeof OPERATIONS, () => Promise<void>> = {
      readJwt: () => this.withUser((user) => this.read(OPERATIONS.readJwt, user, bearer(user))),
      listJwt: () => this.withUser((user) => this.list(OPERATIONS.listJwt, bearer(user))),
      createJwt: () => this.withUser((user) => this.create(OPERATIONS.createJwt, user, bearer(user))),
      update: () => this.update(),
      delete: () => this.delete(),
      readApiKey: () => {
        const user = pickFrom(this.users);
        return this.read(OPERATIONS.readApiKey, user, apiKey(user));
      },
      listApiKey: () => this.list(OPERATIONS.listApiKey, apiKey(pickFrom(this.users))),
      createApiKey: () => this.createWithKey(),
      listAnonymous: () => this.list(OPERATIONS.listAnonymous, {}, '?visibility=public'),
      me: () => this.me(),
      refresh: () => this.refresh(),
      login: () => this.login(),
      logout: () => this.logout(),
    };
    this.operations = Object.entries(WEIGHTS).map(([key, weight]) => ({
      weight,
      run: runs[key as keyof typeof OPERATIONS],
    }));
    this.totalWeight = this.operations.reduce((sum, op) => sum + op.weight, 0);
  }

  /** One arrival: an operation drawn by weight, resolved when its requests are answered. */
  next(): Promise<void> {
    let draw = Math.random() * this.totalWeight;
    for (const op of this.operations) {
      draw -= op.weight;
      if (draw < 0) return op.run();
    }
    return this.operations.at(-1)!.run();
  }

  // --- operations ---

  /** One of the owner's own private resources, with the owner's credential. */
  private async read(operation: string, owner: VirtualUser, headers: Record<string, string>): Promise<void> {
    const id = pickFrom(owner.readable);
    await this.send(operation, { method: 'GET', path: `/api/v1/resources/${id}`, expectStatus: 200, headers });
  }

  private async list(operation: string, headers: Record<string, string>, query = ''): Promise<void> {
    await this.send(operation, { method: 'GET', path: `/api/v1/resources${query}`, expectStatus: 200, headers });
  }

  private async create(operation: string, owner: VirtualUser, headers: Record<string, string>): Promise<void> {
    this.writes += 1;
    const created = (await this.send(operation, {
      method: 'POST',
      path: '/api/v1/resources',
      expectStatus: 201,
      headers,
      body: { name: `soak resource ${this.writes}`, description: 'made by the soak', visibility: 'private' },
    })) as { id: string; version: number } | undefined;
    if (created) this.idle.push({ id: created.id, version: created.version, owner });
  }

  private createWithKey(): Promise<void> {
    const owner = pickFrom(this.users);
    return this.create(OPERATIONS.createApiKey, owner, apiKey(owner));
  }

  private async update(): Promise<void> {
    const resource = this.checkOut();
    if (!resource) return this.withUser((user) => this.create(OPERATIONS.createJwt, user, bearer(user)));
    const { owner } = resource;
    await this.using(owner, async () => {
      this.writes += 1;
      const updated = (await this.send(OPERATIONS.update, {
        method: 'PATCH',
        path: `/api/v1/resources/${resource.id}`,
        expectStatus: 200,
        headers: { ...bearer(owner), 'if-match': `"${resource.version}"` },
        body: { description: `edit ${this.writes}` },
      })) as { version: number } | undefined;
      // After a failure its version is unknown: it leaves the pool rather than fail again.
      if (updated) this.idle.push({ ...resource, version: updated.version });
    });
  }

  private async delete(): Promise<void> {
    const resource = this.checkOut();
    if (!resource) return this.withUser((user) => this.create(OPERATIONS.createJwt, user, bearer(user)));
    await this.using(resource.owner, () =>
      this.send(OPERATIONS.delete, {
        method: 'DELETE',
        path: `/api/v1/resources/${resource.id}`,
        expectStatus: 204,
        headers: bearer(resource.owner),
      }),
    );
  }

  private async me(): Promise<void> {
    const user = pickFrom(this.users);
    await this.send(OPERATIONS.me, {
      method: 'GET',
      path: '/api/v1/auth/me',
      expectStatus: 200,
      headers: { authorization: `Token ${user.personalToken}` },
    });
  }

  private async refresh(): Promise<void> {
    const ready = this.users.filter((u) => !u.rotating && !u.leaving);
    if (ready.length === 0) return this.skip();
    const user = ready.reduce((oldest, u) => (u.issuedAt < oldest.issuedAt ? u : oldest));
    user.rotating = true;
    try {
      const pair = (await this.send(OPERATIONS.refresh, {
        method: 'POST',
        path: '/api/v1/auth/refresh',
        expectStatus: 200,
        body: { refresh_token: user.refreshToken },
      })) as TokenPair | undefined;
      // As a real client does when a refresh fails: sign in again. The error is counted
      // already; without this, a refresh the server did rotate but whose answer was lost
      // would make every later one a reuse, and the soak would report an echo of one error.
      if (pair) takePair(user, pair);
      else await logIn(this.send, user);
    } finally {
      user.rotating = false;
    }
  }

  private async login(): Promise<void> {
    const user = this.pickUser((u) => !u.rotating && !u.leaving);
    if (!user) return this.skip();
    user.rotating = true;
    try {
      await logIn(this.send, user);
    } finally {
      user.rotating = false;
    }
  }

  /** Logs out (the family and the access token die), then back in, as a returning user. */
  private async logout(): Promise<void> {
    const user = this.pickUser((u) => !u.rotating && !u.leaving);
    if (!user) return this.skip();
    user.rotating = true;
    user.leaving = true;
    try {
      if (user.inFlight > 0) await new Promise<void>((resolve) => (user.drained = resolve));
      await this.send(OPERATIONS.logout, {
        method: 'POST',
        path: '/api/v1/auth/logout',
        expectStatus: 204,
        headers: bearer(user),
        body: { refresh_token: user.refreshToken },
      });
      await logIn(this.send, user);
    } finally {
      user.rotating = false;
      user.leaving = false;
    }
  }

  // --- bookkeeping ---

  /** Runs `act` as a user whose access token is not about to be revoked. */
  private withUser(act: (user: VirtualUser) => Promise<void>): Promise<void> {
    const user = this.pickUser((u) => !u.leaving);
    if (!user) return this.skip();
    return this.using(user, () => act(user));
  }

  /** Counts the request against the user, so a logout waits for it. */
  private async using<T>(user: VirtualUser, act: () => Promise<T>): Promise<void> {
    user.inFlight += 1;
    try {
      await act();
    } finally {
      user.inFlight -= 1;
      if (user.inFlight === 0 && user.drained) {
        user.drained();
        user.drained = undefined;
      }
    }
  }

  /** A random user that fits, scanning from a random start. */
  private pickUser(fits: (user: VirtualUser) => boolean): VirtualUser | undefined {
    const start = randomInt(this.users.length);
    for (let i = 0; i < this.users.length; i += 1) {
      const user = this.users[(start + i) % this.users.length]!;
      if (fits(user)) return user;
    }
    return undefined;
  }

  /** A random idle churn resource whose owner is not logging out, removed from the pool. */
  private checkOut(): ChurnResource | undefined {
    const start = this.idle.length > 0 ? randomInt(this.idle.length) : 0;
    for (let i = 0; i < this.idle.length; i += 1) {
      const index = (start + i) % this.idle.length;
      if (!this.idle[index]!.owner.leaving) {
        // Swap-remove: order does not matter, and it keeps the pool O(1) per write.
        const resource = this.idle[index]!;
        this.idle[index] = this.idle.at(-1)!;
        this.idle.pop();
        return resource;
      }
    }
    return undefined;
  }

  private skip(): Promise<void> {
    this.skipped += 1;
    return Promise.resolve();
  }
}

function takePair(user: VirtualUser, pair: TokenPair): void {
  user.accessToken = pair.access_token;
  user.refreshToken = pair.refresh_token;
  user.issuedAt = Date.now();
}

export async function logIn(send: Send, user: VirtualUser): Promise<void> {
  const pair = (await send(OPERATIONS.login, {
    method: 'POST',
    path: '/api/v1/auth/login',
    expectStatus: 200,
    body: { email: user.email, password: PASSWORD },
  })) as TokenPair | undefined;
  if (pair) takePair(user, pair);
}
