import { passwordProof } from '../../src/common/auth/sign-in-proof.js';
import { randomUUID } from 'node:crypto';
import type { Response } from 'supertest';
import { DataSource } from 'typeorm';
import { makePrincipal } from '../../src/common/auth/principal.js';
import { ApiKeysService } from '../../src/modules/api-keys/api-keys.service.js';
import { CreateApiKeyDto } from '../../src/modules/api-keys/dto/api-key.dto.js';
import { NO_ORIGIN } from '../../src/modules/auth/credentials/credential-origin.js';
import { AccessTokensService } from '../../src/modules/auth/jwt/access-tokens.service.js';
import { RevocationService } from '../../src/modules/auth/revocation/revocation.service.js';
import { SessionsService } from '../../src/modules/auth/sessions/sessions.service.js';
import { PersonalTokensService } from '../../src/modules/auth/tokens/personal-tokens.service.js';
import { UsersService } from '../../src/modules/users/users.service.js';
import { cookieHeader, sessionCookies } from '../factories/session.js';
import { newRegistration } from '../factories/users.js';
import type { TestApp } from '../setup/test-app.js';
import { cursorOf, type FuzzCase, type PrincipalName } from './arbitraries.js';
import type { RefName } from './symbols.js';

/*
 * The world the requests act on: accounts, their credentials, what they created. Part of the fuzz
 * suite, test/e2e/fuzz.e2e-spec.ts.
 */

interface Account {
  id: string;
  email: string;
  password: string;
  admin: boolean;
}

export class World {
  readonly credentials = new Map<PrincipalName, Record<string, string>>();
  readonly suspect = new Set<PrincipalName>();
  private readonly checking = new Map<PrincipalName, Promise<void>>();
  readonly recent: string[] = [];
  readonly fixtures: Partial<Record<RefName, string>> = {};
  cursor = cursorOf(['2020-01-01T00:00:00.000Z', '00000000-0000-4000-8000-000000000000']);
  refreshToken = '';
  user!: Account;
  admin!: Account;

  constructor(readonly t: TestApp) {}

  ref(name: RefName, index: number): string {
    const credential = (principal: PrincipalName, header: string) =>
      (this.credentials.get(principal)?.[header] ?? '').replace(/^\S+ /, '');
    switch (name) {
      case 'userId':
        return this.user.id;
      case 'adminId':
        return this.admin.id;
      case 'recent':
        return this.recent.length ? (this.recent[index % this.recent.length] as string) : randomUUID();
      case 'cursor':
        return this.cursor;
      case 'userJwt':
        return credential('user', 'Authorization');
      case 'adminJwt':
        return credential('admin', 'Authorization');
      case 'userToken':
        return credential('userToken', 'Authorization');
      case 'userApiKey':
        return credential('userApiKey', 'X-API-Key');
      case 'adminSid':
        return /sid=([^;]*)/.exec(credential('adminSession', 'Cookie'))?.[1] ?? '';
      case 'adminCsrf':
        return credential('adminSession', 'X-CSRF-Token');
      case 'refreshToken':
        return this.refreshToken;
      case 'userEmail':
        return this.user.email;
      case 'userPassword':
        return this.user.password;
      case 'adminEmail':
        return this.admin.email;
      default:
        return this.fixtures[name] ?? randomUUID();
    }
  }

  /** The headers that make a request this principal's, rebuilt if the fuzzing killed them. */
  async headersOf(principal: PrincipalName): Promise<Record<string, string>> {
    if (principal === 'anonymous') return {};
    let check = this.checking.get(principal);
    if (!check && (this.suspect.delete(principal) || !this.credentials.has(principal))) {
      // One check at a time per principal, however many requests of the batch wait for it.
      check = this.revalidate(principal).finally(() => this.checking.delete(principal));
      this.checking.set(principal, check);
    }
    await check;
    return this.credentials.get(principal) as Record<string, string>;
  }

  /** Checks the principal's credential, rebuilding it until it works (other requests of a batch may kill it again). */
  private async revalidate(principal: PrincipalName): Promise<void> {
    let failure: unknown;
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = this.credentials.get(principal);
      if (current && (await this.works(principal, current))) return;
      // Another request of the batch may delete the account midway: then try again.
      failure = await this.rebuild(principal).catch((error: unknown) => error);
    }
    throw new Error(`the fuzzing left no working credential for ${principal}`, { cause: failure });
  }

  private async works(principal: PrincipalName, headers: Record<string, string>): Promise<boolean> {
    const res = await this.t.http.get('/api/v1/auth/me').set(headers);
    const admin = principal === 'admin' || principal === 'adminSession';
    return res.status === 200 && (res.body as { roles: string[] }).roles.includes(admin ? 'admin' : 'user');
  }

  /** New credentials straight from the services (the fuzzing may well have locked the sign-in out). */
  private async rebuild(principal: PrincipalName): Promise<void> {
    const admin = principal === 'admin' || principal === 'adminSession';
    const account = await this.liveAccount(admin);
    // Issued as a sign-in would be: in the user's current cut-off generation.
    const generation = await this.t.app
      .get(RevocationService)
      .generationOf(this.t.app.get(DataSource).manager, account.id);
    const jwt = await this.t.app
      .get(AccessTokensService)
      .issue({ id: account.id, roles: [admin ? 'admin' : 'user'] }, generation, passwordProof());
    const owner = makePrincipal({
      userId: account.id,
      roles: [admin ? 'admin' : 'user'],
      scopes: null,
      authMethod: 'jwt',
      credentialId: jwt.jti,
    });
    switch (principal) {
      case 'anonymous':
        // Sends no credential: there is nothing to rebuild.
        return;
      case 'user':
      case 'admin':
        this.credentials.set(principal, { Authorization: `Bearer ${jwt.token}` });
        return;
      case 'userToken': {
        const created = await this.t.app.get(PersonalTokensService).create(owner, { name: 'fuzz' }, NO_ORIGIN);
        this.fixtures.tokenId = created.id;
        this.credentials.set(principal, { Authorization: `Token ${created.token}` });
        return;
      }
      case 'userApiKey': {
        const body = Object.assign(new CreateApiKeyDto(), {
          name: 'fuzz',
          scopes: ['resources:read', 'resources:write'],
          rateLimitPerMinute: 100_000,
        });
        const created = await this.t.app.get(ApiKeysService).create(owner, body, NO_ORIGIN);
        this.fixtures.apiKeyId = created.id;
        this.credentials.set(principal, { 'X-API-Key': created.key });
        return;
      }
      case 'adminSession': {
        // The CSRF token is bound to the session: the app issues it to a request of that session.
        const signedIn = await this.t.app.get(UsersService).findById(account.id);
        const started =
          signedIn && (await this.t.app.get(SessionsService).start(signedIn, undefined, NO_ORIGIN, passwordProof()));
        if (!started) throw new Error('the fuzzer could not start a session');
        const { sid } = started;
        const res = await this.t.http.get('/api/v1/auth/csrf').set('Cookie', cookieHeader({ sid }));
        const csrf = sessionCookies(res).get('csrf')?.value ?? '';
        this.credentials.set(principal, {
          Cookie: cookieHeader({ sid, csrf }),
          'X-CSRF-Token': String((res.body as { csrfToken?: unknown }).csrfToken ?? ''),
        });
        return;
      }
    }
  }

  /** The account, or a new one when the fuzzing deleted, deactivated or demoted it. */
  private async liveAccount(admin: boolean): Promise<Account> {
    const account = admin ? this.admin : this.user;
    const user = await this.t.app.get(UsersService).findById(account.id);
    if (user?.isActive && user.roles.includes(admin ? 'admin' : 'user')) return account;
    const registration = newRegistration();
    const users = this.t.app.get(UsersService);
    const created = admin ? await users.createAdmin(registration) : await users.register(registration);
    const fresh = { ...registration, id: created.id, admin };
    if (admin) this.admin = fresh;
    else this.user = fresh;
    for (const name of ['user', 'userToken', 'userApiKey', 'admin', 'adminSession'] as const) this.suspect.add(name);
    return fresh;
  }

  /** Learns from a successful answer: new ids, cursors, tokens; and what might have killed a credential. */
  learn(c: FuzzCase, res: Response, sentBody: unknown): void {
    if (res.status >= 300) {
      if (res.status === 401 && c.principal !== 'anonymous' && c.headers.length === 0) this.suspect.add(c.principal);
      return;
    }
    const body = (res.body ?? {}) as Record<string, unknown>;
    const ids = [
      body.id,
      body.clientId,
      ...(Array.isArray(body.data) ? body.data.slice(0, 3).map((row: { id?: unknown }) => row.id) : []),
    ];
    for (const id of ids) if (typeof id === 'string') this.recent.unshift(id);
    this.recent.length = Math.min(this.recent.length, 32);
    if (typeof body.nextCursor === 'string') this.cursor = body.nextCursor;
    if (typeof body.refresh_token === 'string') this.refreshToken = body.refresh_token;
    const mutating = !['GET', 'HEAD', 'OPTIONS'].includes(c.method);
    if (mutating && /^\/api\/v1\/(users|auth|api-keys)/.test(c.route.split(' ')[1] ?? '')) {
      for (const name of this.credentials.keys()) this.suspect.add(name);
      const newPassword = (sentBody as { newPassword?: unknown } | undefined)?.newPassword;
      if (c.route === 'POST /api/v1/auth/password' && typeof newPassword === 'string') {
        if (c.principal === 'user' || c.principal === 'userToken' || c.principal === 'userApiKey') {
          this.user.password = newPassword;
        }
      }
    }
  }
}
