import { Injectable } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { InjectDataSource } from '@nestjs/typeorm';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { DataSource } from 'typeorm';
import { hashOpaqueToken, newOpaqueToken } from '../../../common/auth/opaque-token.js';
import { makePrincipal, type Principal } from '../../../common/auth/principal.js';
import { UsageRecorder } from '../../../common/auth/usage-recorder.js';
import { VerifiedCredentialCache, type VerifiedCredential } from '../../../common/auth/verified-credential-cache.js';
import { NotFoundError } from '../../../common/errors/app-error.js';
import { decodeCursor, toPage, type Page, type PageQuery } from '../../../common/http/pagination.js';
import { AppConfig } from '../../../config/app-config.js';
import { SECURITY_NOTICE, type SecurityNotice } from '../../mail/security-notices.js';
import { UsersService } from '../../users/users.service.js';
import { assertMayCreate } from '../credentials/attenuation.js';
import type { CredentialOrigin } from '../credentials/credential-origin.js';
import { RevocationService, type RevocationEvent } from '../revocation/revocation.service.js';
import { CreatedPersonalTokenResponse, PersonalTokenResponse } from './dto/personal-token.response.js';
import type { PersonalToken } from './personal-token.entity.js';
import { PersonalTokensRepository } from './personal-tokens.repository.js';

/** `nsa_pat_`: a fixed tag that secret scanners can be taught to find in leaked text. */
const PERSONAL_TOKEN_TAG = 'nsa_pat';
/**
 * What newOpaqueToken makes of the tag: 43 base64url characters (256 bits) after it. The
 * first 12 of them index the cache, as an API key's public prefix does; the whole token is
 * compared in constant time, so the lookup's timing can tell of no more than those 72 bits.
 */
const TOKEN_SHAPE = /^nsa_pat_([A-Za-z0-9_-]{12})[A-Za-z0-9_-]{31}$/;
/** How long a verified token's record may be served from memory; revocation evicts at once. */
const CACHE_TTL_MS = 30_000;
const CACHE_MAX_ENTRIES = 10_000;

interface TokenRecord {
  token: PersonalToken;
  /** Who the token acts as, with the owner's roles when it was read; made once per lookup. */
  principal: Principal;
}

@Injectable()
export class PersonalTokensService {
  private readonly usage = new UsageRecorder();
  private readonly cache = new VerifiedCredentialCache<TokenRecord>({
    maxEntries: CACHE_MAX_ENTRIES,
    ttlMs: CACHE_TTL_MS,
    identify: ({ token }) => token,
  });

  constructor(
    private readonly config: AppConfig,
    private readonly users: UsersService,
    private readonly tokens: PersonalTokensRepository,
    private readonly revocation: RevocationService,
    private readonly events: EventEmitter2,
    @InjectDataSource() private readonly dataSource: DataSource,
    @InjectPinoLogger(PersonalTokensService.name) private readonly logger: PinoLogger,
  ) {
    revocation.onRevocation((event) => this.evict(event));
  }

  async create(
    me: Principal,
    body: { name: string; expiresInDays?: number },
    origin: CredentialOrigin,
  ): Promise<CreatedPersonalTokenResponse> {
    assertMayCreate(me, { kind: 'personal-token', scopes: null });
    const token = newOpaqueToken(PERSONAL_TOKEN_TAG);
    const row = await this.tokens.insertWithinLimit(
      {
        userId: me.userId,
        name: body.name,
        tokenHash: hashOpaqueToken(token),
        expiresAt: body.expiresInDays ? new Date(Date.now() + body.expiresInDays * 86_400_000) : null,
        createdIp: origin.ip,
        createdUserAgent: origin.userAgent,
        createdBy: me.credentialId,
      },
      this.config.auth.maxPersonalTokensPerUser,
    );
    await this.events.emitAsync(SECURITY_NOTICE, {
      userId: me.userId,
      kind: 'personal-token-created',
      name: body.name,
    } satisfies SecurityNotice);
    return { ...PersonalTokenResponse.from(row), token };
  }

  async list(userId: string, query: PageQuery): Promise<Page<PersonalTokenResponse>> {
    const rows = await this.tokens.list(userId, query.limit + 1, decodeCursor(query.cursor));
    return toPage(rows, query.limit, PersonalTokenResponse.from);
  }

  /** Deletes one of the caller's tokens; someone else's is "not found", like a missing one. */
  async delete(userId: string, id: string): Promise<void> {
    if (!(await this.deleteOwn(userId, id))) throw new NotFoundError('No such token.');
  }

  /**
   * Deletes one of the user's tokens and records its revocation in one transaction, then
   * tells every instance to drop it from its cache. False when the user holds no such token.
   */
  async deleteOwn(userId: string, id: string): Promise<boolean> {
    const event = this.revocation.credential('personal-token', id, userId);
    const deleted = await this.dataSource.transaction(async (manager) => {
      if (!(await this.tokens.deleteOfUser(manager, userId, id))) return false;
      await this.revocation.record(manager, [event]);
      return true;
    });
    if (deleted) await this.revocation.publish([event]);
    return deleted;
  }

  /**
   * The token's owner, with their current roles. Served from memory once verified: no
   * database round trip, no hash, in the steady state (see VerifiedCredentialCache).
   */
  async authenticate(presented: string): Promise<Principal | null> {
    const index = TOKEN_SHAPE.exec(presented)?.[1];
    // Not a token this server makes: refused without a lookup.
    if (index === undefined) return null;
    const entry = await this.lookup(index, presented);
    if (!entry) return null;
    const { token, principal } = entry.value;
    const now = Date.now();
    if (token.expiresAt && token.expiresAt.getTime() <= now) return null;
    if (this.usage.isDue(token.id, now)) {
      this.tokens.recordUse(token.id, new Date(now)).catch((error: unknown) => {
        this.logger.warn({ err: error }, 'could not record token use');
      });
    }
    return principal;
  }

  /**
   * The cached record when `presented` is the token it was verified with; otherwise the
   * database's, found by the token's hash (which verifies it). A token found nowhere costs
   * one indexed read and leaves nothing behind.
   */
  private async lookup(index: string, presented: string): Promise<VerifiedCredential<TokenRecord> | null> {
    const cached = this.cache.get(index);
    if (cached && this.cache.isVerified(cached, presented)) return cached;
    const entry = await this.cache.load(
      index,
      async () => {
        const token = await this.tokens.findByHash(hashOpaqueToken(presented));
        const owner = token ? await this.users.findById(token.userId) : null;
        // A deactivation deletes the user's tokens: an inactive owner is refused, never cached.
        if (!token || !owner?.isActive) return null;
        const principal = makePrincipal({
          userId: owner.id,
          roles: owner.roles,
          scopes: null,
          authMethod: 'token',
          credentialId: token.id,
        });
        return { token, principal };
      },
      ({ token }) => !token.expiresAt || token.expiresAt.getTime() > Date.now(),
    );
    if (entry) this.cache.rememberVerified(entry, presented);
    return entry;
  }

  /**
   * A deleted token goes; so does every token of a user whose credentials end or whose roles
   * change (the cached principal carries the roles it was read with).
   */
  private evict(event: RevocationEvent): void {
    if (event.type === 'user') this.cache.evictUser(event.userId);
    if (event.type === 'credential' && event.kind === 'personal-token') this.cache.evictCredential(event.id);
  }
}
