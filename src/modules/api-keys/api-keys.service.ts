import { timingSafeEqual } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { AUDIT_RECORD, type AuditRecord } from '../../common/audit/audit-record.js';
import { makePrincipal, type Principal } from '../../common/auth/principal.js';
import { UsageRecorder } from '../../common/auth/usage-recorder.js';
import { BadRequestError, ForbiddenError, NotFoundError } from '../../common/errors/app-error.js';
import { decodeCursor, toPage, type Page, type PageQuery } from '../../common/http/pagination.js';
import { AppConfig } from '../../config/app-config.js';
import { developmentSecret } from '../../config/dev-secrets.js';
import { RevocationService, type RevocationEvent } from '../auth/revocation/revocation.service.js';
import { UsersService } from '../users/users.service.js';
import { ApiKeyAddressMonitor } from './api-key-address-monitor.js';
import type { ApiKey } from './api-key.entity.js';
import { API_KEY_TAG, hashApiKeySecret, newApiKey, parseApiKey, secretMatches } from './api-key-format.js';
import { ApiKeysRepository, type KeyOwnerScope } from './api-keys.repository.js';
import { ApiKeyResponse, type CreateApiKeyDto, type CreatedApiKeyResponse } from './dto/api-key.dto.js';

/** How long a verified key's record may be served from memory; revocation evicts at once. */
const CACHE_TTL_MS = 30_000;

interface CachedKey {
  key: ApiKey;
  ownerActive: boolean;
  /** Who the key acts as; made once per lookup, as a verified JWT's is (the hot path stays cheap). */
  principal: Principal;
  /** The secret that last passed the keyed-hash check (see secretChecksOut). */
  verifiedSecret?: Buffer;
  cachedAt: number;
}

@Injectable()
export class ApiKeysService {
  private readonly pepper: string;
  private readonly cache = new Map<string, CachedKey>();
  /** Bumped by every eviction: a lookup that raced one must not cache what it read before. */
  private generation = 0;
  private readonly usage = new UsageRecorder();

  constructor(
    private readonly config: AppConfig,
    private readonly keys: ApiKeysRepository,
    private readonly addresses: ApiKeyAddressMonitor,
    private readonly users: UsersService,
    private readonly revocation: RevocationService,
    private readonly events: EventEmitter2,
    @InjectPinoLogger(ApiKeysService.name) private readonly logger: PinoLogger,
  ) {
    this.pepper = config.apiKeys.pepper ?? developmentSecret(config.app.dataDir, 'api-key-pepper');
    revocation.onRevocation((event) => this.evict(event));
  }

  async create(me: Principal, body: CreateApiKeyDto): Promise<CreatedApiKeyResponse> {
    const beyond = body.scopes.filter((scope) => !me.permissions.has(scope));
    if (beyond.length > 0) throw new ForbiddenError(`You cannot grant scopes you do not have: ${beyond.join(', ')}.`);
    if (body.expiresAt && body.expiresAt.getTime() <= Date.now()) {
      throw new BadRequestError('expiresAt must be in the future.');
    }
    const { prefix, secret, key } = newApiKey();
    const row = await this.keys.insert({
      userId: me.userId,
      name: body.name,
      prefix,
      secretHash: hashApiKeySecret(secret, this.pepper),
      scopes: body.scopes,
      rateLimitPerMinute: body.rateLimitPerMinute ?? this.config.apiKeys.defaultRateLimitPerMinute,
      expiresAt: body.expiresAt ?? null,
    });
    return { ...ApiKeyResponse.from(row), key };
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
    await this.manageable(me, id);
    const key = await this.keys.revoke(this.ownerScope(me), id);
    if (!key) throw new NotFoundError('No such API key.');
    await this.revocation.revokeCredential('api-key', key.prefix);
  }

  /** A new secret for the same key: the old one dies at once, everywhere. */
  async rotate(me: Principal, id: string): Promise<CreatedApiKeyResponse> {
    const key = await this.manageable(me, id);
    const fresh = newApiKey();
    const secretHash = hashApiKeySecret(fresh.secret, this.pepper);
    await this.keys.replaceSecret(key.id, secretHash);
    await this.revocation.revokeCredential('api-key', key.prefix);
    // The prefix stays (it identifies the key); only the secret changes.
    return { ...ApiKeyResponse.from(key), key: `${API_KEY_TAG}${key.prefix}.${fresh.secret}` };
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
    if (entry.key.revokedAt) return this.reject(entry.key, 'revoked');
    if (!entry.ownerActive) return this.reject(entry.key, 'owner inactive');
    const { key } = entry;
    if (!this.secretChecksOut(entry, parts.secret)) return this.reject(key, 'wrong secret');
    const now = Date.now();
    if (key.expiresAt && key.expiresAt.getTime() <= now) return this.reject(key, 'expired');
    if (this.usage.isDue(key.id, now)) {
      this.keys.recordUse(key.id, new Date(now), address).catch((error: unknown) => {
        this.logger.warn({ err: error }, 'could not record API key use');
      });
    }
    this.addresses.noteUse(key, address);
    return entry.principal;
  }

  /**
   * The keyed hash costs more than the rest of a cached key's check, so the secret it last
   * verified stays with the cached entry (as a verified JWT stays in its cache) and is
   * compared in constant time; anything else is hashed and compared with the stored hash.
   * The entry, and the secret with it, goes at the cache TTL, on rotation and on revocation.
   */
  private secretChecksOut(entry: CachedKey, secret: string): boolean {
    const presented = Buffer.from(secret, 'utf8');
    const { verifiedSecret } = entry;
    if (verifiedSecret?.length === presented.length && timingSafeEqual(verifiedSecret, presented)) return true;
    if (!secretMatches(secret, entry.key.secretHash, this.pepper)) return false;
    entry.verifiedSecret = presented;
    return true;
  }

  private async lookup(prefix: string): Promise<CachedKey | null> {
    const cached = this.cache.get(prefix);
    if (cached && Date.now() - cached.cachedAt < CACHE_TTL_MS) return cached;
    const generation = this.generation;
    const key = await this.keys.findByPrefix(prefix);
    const owner = key ? await this.users.findById(key.userId) : null;
    if (!key || !owner) {
      this.cache.delete(prefix);
      return null;
    }
    const principal = makePrincipal({
      userId: key.userId,
      roles: owner.roles,
      scopes: key.scopes,
      authMethod: 'api-key',
      credentialId: key.id,
      credentialRateLimit: key.rateLimitPerMinute,
    });
    const entry = { key, ownerActive: owner.isActive, principal, cachedAt: Date.now() };
    // Only usable keys are kept; a refused one is looked up afresh each time.
    if (generation === this.generation && !key.revokedAt && owner.isActive) this.cache.set(prefix, entry);
    return entry;
  }

  private evict(event: RevocationEvent): void {
    this.generation += 1;
    if (event.type === 'credential' && event.kind === 'api-key') this.cache.delete(event.id);
    if (event.type === 'user') {
      for (const [prefix, entry] of this.cache) if (entry.key.userId === event.userId) this.cache.delete(prefix);
    }
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
   * with no scope beyond the caller's own, so a narrow key cannot mint a wider sibling.
   */
  private async manageable(me: Principal, id: string): Promise<ApiKey> {
    const key = await this.keys.findInScope(this.ownerScope(me), id);
    if (!key) throw new NotFoundError('No such API key.');
    const beyond = key.scopes.filter((scope) => !me.permissions.has(scope));
    if (beyond.length > 0) throw new ForbiddenError(`This key has scopes you do not have: ${beyond.join(', ')}.`);
    return key;
  }

  private ownerScope(me: Principal): KeyOwnerScope {
    return me.permissions.has('api-keys:manage') ? { ownerId: undefined } : { ownerId: me.userId };
  }
}
