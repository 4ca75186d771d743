import { Injectable } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { InjectDataSource } from '@nestjs/typeorm';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { DataSource, type EntityManager } from 'typeorm';
import { AUDIT_RECORD, type AuditRecord } from '../../common/audit/audit-record.js';
import { makePrincipal, type Principal } from '../../common/auth/principal.js';
import { UsageRecorder } from '../../common/auth/usage-recorder.js';
import { VerifiedCredentialCache, type VerifiedCredential } from '../../common/auth/verified-credential-cache.js';
import { BadRequestError, NotFoundError, ValidationFailedError } from '../../common/errors/app-error.js';
import { decodeCursor, toPage, type Page, type PageQuery } from '../../common/http/pagination.js';
import { AppConfig } from '../../config/app-config.js';
import { developmentSecret } from '../../config/dev-secrets.js';
import { assertMayCreate } from '../auth/credentials/attenuation.js';
import type { CredentialOrigin } from '../auth/credentials/credential-origin.js';
import { RevocationService, type RevocationEvent } from '../auth/revocation/revocation.service.js';
import { UsersService } from '../users/users.service.js';
import { ApiKeyAddressMonitor } from './api-key-address-monitor.js';
import type { ApiKey } from './api-key.entity.js';
import { API_KEY_TAG, hashApiKeySecret, newApiKey, parseApiKey, secretMatches } from './api-key-format.js';
import { ApiKeysRepository, type KeyOwnerScope } from './api-keys.repository.js';
import { ApiKeyResponse, type CreateApiKeyDto, type CreatedApiKeyResponse } from './dto/api-key.dto.js';
import { SECURITY_NOTICE, type SecurityNotice } from '../mail/security-notices.js';

/** How long a verified key's record may be served from memory; revocation evicts at once. */
const CACHE_TTL_MS = 30_000;
const CACHE_MAX_ENTRIES = 10_000;

interface KeyRecord {
  key: ApiKey;
  ownerActive: boolean;
  /** Who the key acts as; made once per lookup, as a verified JWT's is (the hot path stays cheap). */
  principal: Principal;
}

type CachedKey = VerifiedCredential<KeyRecord>;

@Injectable()
export class ApiKeysService {
  private readonly pepper: string;
  /** Keyed by the key's public prefix. */
  private readonly cache = new VerifiedCredentialCache<KeyRecord>({
    maxEntries: CACHE_MAX_ENTRIES,
    ttlMs: CACHE_TTL_MS,
    identify: ({ key }) => key,
  });
  private readonly usage = new UsageRecorder();

  constructor(
    private readonly config: AppConfig,
    private readonly keys: ApiKeysRepository,
    private readonly addresses: ApiKeyAddressMonitor,
    private readonly users: UsersService,
    private readonly revocation: RevocationService,
    private readonly events: EventEmitter2,
    @InjectDataSource() private readonly dataSource: DataSource,
    @InjectPinoLogger(ApiKeysService.name) private readonly logger: PinoLogger,
  ) {
    this.pepper = config.apiKeys.pepper ?? developmentSecret(config.app.dataDir, 'api-key-pepper');
    revocation.onRevocation((event) => this.evict(event));
  }

  async create(me: Principal, body: CreateApiKeyDto, origin: CredentialOrigin): Promise<CreatedApiKeyResponse> {
    assertMayCreate(me, { kind: 'api-key', scopes: body.scopes });
    if (body.expiresAt && body.expiresAt.getTime() <= Date.now()) {
      throw new BadRequestError('expiresAt must be in the future.');
    }
    const { prefix, secret, key } = newApiKey();
    const rateLimitPerMinute = this.keyRateLimit(me, body.rateLimitPerMinute);
    const row = await this.keys.insertWithinLimit(
      {
        userId: me.userId,
        name: body.name,
        prefix,
        secretHash: hashApiKeySecret(secret, this.pepper),
        scopes: body.scopes,
        rateLimitPerMinute,
        expiresAt: body.expiresAt ?? null,
        createdIp: origin.ip,
        createdUserAgent: origin.userAgent,
        createdBy: me.credentialId,
      },
      this.config.auth.maxApiKeysPerUser,
    );
    await this.events.emitAsync(SECURITY_NOTICE, {
      userId: me.userId,
      kind: 'api-key-created',
      name: row.name,
    } satisfies SecurityNotice);
    return { ...ApiKeyResponse.from(row), key };
  }

  /**
   * A key's own limit: at most its owner's user limit (a user does not lift their own budget
   * by making keys), unless a holder of api-keys:manage sets it. Past it: 400.
   */
  private keyRateLimit(me: Principal, asked: number | undefined): number {
    const { limit, windowSeconds } = this.config.rateLimits.user;
    const ownerPerMinute = Math.max(1, Math.floor((limit * 60) / windowSeconds));
    if (asked === undefined) return Math.min(this.config.apiKeys.defaultRateLimitPerMinute, ownerPerMinute);
    if (asked > ownerPerMinute && !me.permissions.has('api-keys:manage')) {
      throw new ValidationFailedError([
        { field: 'rateLimitPerMinute', message: `must be at most ${ownerPerMinute}, your own limit per minute` },
      ]);
    }
    return asked;
  }

  async list(me: Principal, query: PageQuery): Promise<Page<ApiKeyResponse>> {
    const rows = await this.keys.list(this.ownerScope(me), query.limit + 1, decodeCursor(query.cursor));
    return toPage(rows, query.limit, ApiKeyResponse.from);
  }

  async get(me: Principal, id: string): Promise<ApiKeyResponse> {
    const key = await this.keys.findInScope(this.ownerScope(me), id);
    if (!key) throw new NotFoundError('No such API key.');
    return ApiKeyResponse.from(key);
  }

  async revoke(me: Principal, id: string): Promise<void> {
    const key = await this.manageable(me, id);
    if (!(await this.ending(key, (manager) => this.keys.revoke(manager, key.id)))) {
      throw new NotFoundError('No such API key.');
    }
  }

  /** Revokes one of the user's own keys (the credential inventory); false when it is not theirs or not live. */
  async revokeOwn(userId: string, id: string): Promise<boolean> {
    const key = await this.keys.findInScope({ ownerId: userId }, id);
    return key !== null && this.ending(key, (manager) => this.keys.revoke(manager, key.id));
  }

  /** A new secret for the same key: the old one dies at once, everywhere. */
  async rotate(me: Principal, id: string): Promise<CreatedApiKeyResponse> {
    const key = await this.manageable(me, id);
    const fresh = newApiKey();
    const secretHash = hashApiKeySecret(fresh.secret, this.pepper);
    if (!(await this.ending(key, (manager) => this.keys.replaceSecret(manager, key.id, secretHash)))) {
      throw new NotFoundError('No such API key.');
    }
    // The prefix stays (it identifies the key); only the secret changes.
    return { ...ApiKeyResponse.from(key), key: `${API_KEY_TAG}${key.prefix}.${fresh.secret}` };
  }

  /** Revokes every live key of the user inside an account change's transaction (see USER_EVENTS). */
  async revokeAllOfUser(manager: EntityManager, userId: string): Promise<RevocationEvent[]> {
    const ids = await this.keys.revokeAllOfUser(manager, userId);
    return this.revocation.record(
      manager,
      ids.map((keyId) => this.revocation.credential('api-key', keyId, userId)),
    );
  }

  /**
   * Applies `change` to the key and records its revocation in one transaction, then tells every
   * instance to drop the cached key. False when the key was no longer live.
   */
  private async ending(key: ApiKey, change: (manager: EntityManager) => Promise<boolean>): Promise<boolean> {
    const event = this.revocation.credential('api-key', key.id, key.userId);
    const changed = await this.dataSource.transaction(async (manager) => {
      if (!(await change(manager))) return false;
      await this.revocation.record(manager, [event]);
      return true;
    });
    if (changed) await this.revocation.publish([event]);
    return changed;
  }

  /**
   * The principal a key acts as: its owner, limited to the key's scopes. The owner's roles
   * are read with the key (cached briefly, evicted on any revocation of key or owner).
   */
  async authenticate(presented: string, address: string): Promise<Principal | null> {
    const parts = parseApiKey(presented);
    if (!parts) return this.reject(undefined, 'malformed');
    const entry = await this.lookup(parts.prefix);
    if (!entry) return this.reject(undefined, 'unknown prefix');
    const { key, ownerActive, principal } = entry.value;
    if (key.revokedAt) return this.reject(key, 'revoked');
    if (!ownerActive) return this.reject(key, 'owner inactive');
    if (!this.secretChecksOut(entry, parts.secret)) return this.reject(key, 'wrong secret');
    const now = Date.now();
    if (key.expiresAt && key.expiresAt.getTime() <= now) return this.reject(key, 'expired');
    if (this.usage.isDue(key.id, now)) {
      this.keys.recordUse(key.id, new Date(now), address).catch((error: unknown) => {
        this.logger.warn({ err: error }, 'could not record API key use');
      });
    }
    this.addresses.noteUse(key, address);
    return principal;
  }

  /**
   * The keyed hash costs more than the rest of a cached key's check, so the secret it last
   * verified stays with the cached entry (as a verified JWT stays in its cache) and is
   * compared in constant time; anything else is hashed and compared with the stored hash.
   * The entry, and the secret with it, goes at the cache TTL, on rotation and on revocation.
   */
  private secretChecksOut(entry: CachedKey, secret: string): boolean {
    if (this.cache.isVerified(entry, secret)) return true;
    if (!secretMatches(secret, entry.value.key.secretHash, this.pepper)) return false;
    this.cache.rememberVerified(entry, secret);
    return true;
  }

  private async lookup(prefix: string): Promise<CachedKey | null> {
    const cached = this.cache.get(prefix);
    if (cached) return cached;
    return this.cache.load(
      prefix,
      async () => {
        const key = await this.keys.findByPrefix(prefix);
        const owner = key ? await this.users.findById(key.userId) : null;
        if (!key || !owner) return null;
        const principal = makePrincipal({
          userId: key.userId,
          roles: owner.roles,
          scopes: key.scopes,
          authMethod: 'api-key',
          credentialId: key.id,
          credentialRateLimit: key.rateLimitPerMinute,
        });
        return { key, ownerActive: owner.isActive, principal };
      },
      // Only usable keys are kept; a refused one is looked up afresh each time.
      ({ key, ownerActive }) => !key.revokedAt && ownerActive,
    );
  }

  private evict(event: RevocationEvent): void {
    if (event.type === 'user') this.cache.evictUser(event.userId);
    if (event.type === 'credential' && event.kind === 'api-key') this.cache.evictCredential(event.id);
  }

  /** A failed key use is a security event: it names the key (never the secret) and why. */
  private async reject(key: ApiKey | undefined, reason: string): Promise<null> {
    const record: AuditRecord = {
      action: 'api-key.use',
      outcome: 'denied',
      security: true,
      actorId: key?.userId ?? null,
      authMethod: 'api-key',
      credentialId: key?.id ?? null,
      target: key?.id ?? null,
      status: 401,
      details: { reason },
    };
    await this.events.emitAsync(AUDIT_RECORD, record);
    return null;
  }

  /**
   * A key the caller may rotate or revoke: theirs (or anyone's with api-keys:manage), and
   * with no scope beyond the caller's own, so nobody mints a wider key than they hold.
   */
  private async manageable(me: Principal, id: string): Promise<ApiKey> {
    const key = await this.keys.findInScope(this.ownerScope(me), id);
    if (!key) throw new NotFoundError('No such API key.');
    assertMayCreate(me, { kind: 'api-key', scopes: key.scopes });
    return key;
  }

  private ownerScope(me: Principal): KeyOwnerScope {
    return me.permissions.has('api-keys:manage') ? { ownerId: undefined } : { ownerId: me.userId };
  }
}
