import { Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { Redis } from 'ioredis';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { MoreThan, type Repository } from 'typeorm';
import { RedisService } from '../../../common/redis/redis.service.js';
import { AppConfig } from '../../../config/app-config.js';
import { RevokedAccessToken } from './revoked-access-token.entity.js';
import { TokenCutoff } from './token-cutoff.entity.js';

const CHANNEL = 'auth:revocations';
const PRUNE_INTERVAL_MS = 60_000;

/** What one instance tells the others. Consumers (caches of keys, tokens) listen too. */
export type RevocationEvent =
  | { type: 'access-token'; jti: string; expiresAtMs: number }
  | { type: 'user'; userId: string; tokensValidAfterMs: number }
  | { type: 'credential'; kind: string; id: string };

/**
 * Revocation that is instant and cheap. JWTs are checked against two in-memory tables,
 * with no database round trip: revoked token ids (until they would expire) and, per user,
 * the instant before which every token is dead. Both are persisted (they survive restarts),
 * loaded at boot, and broadcast to every instance through Redis pub/sub when configured.
 */
@Injectable()
export class RevocationService implements OnModuleInit, OnApplicationShutdown {
  private readonly revokedJtis = new Map<string, number>();
  private readonly userCutoffs = new Map<string, number>();
  private readonly listeners: ((event: RevocationEvent) => void)[] = [];
  private subscriber: Redis | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;
  /** ioredis prefixes keys but not pub/sub channels: deployments sharing a Redis must not hear each other. */
  private readonly channel: string;

  constructor(
    private readonly config: AppConfig,
    private readonly redis: RedisService,
    @InjectRepository(RevokedAccessToken) private readonly revokedTokens: Repository<RevokedAccessToken>,
    @InjectRepository(TokenCutoff) private readonly cutoffs: Repository<TokenCutoff>,
    @InjectPinoLogger(RevocationService.name) private readonly logger: PinoLogger,
  ) {
    this.channel = `${config.redis.keyPrefix}${CHANNEL}`;
  }

  async onModuleInit(): Promise<void> {
    // Subscribe before loading, so nothing revoked in between is missed.
    if (this.redis.enabled) {
      this.subscriber = this.redis.createSubscriber();
      this.subscriber.on('message', (_channel: string, message: string) => this.receive(message));
      await this.subscriber.subscribe(this.channel);
    }
    const now = Date.now();
    for (const row of await this.revokedTokens.findBy({ expiresAt: MoreThan(new Date(now)) })) {
      this.revokedJtis.set(row.jti, row.expiresAt.getTime());
    }
    const since = new Date(now - this.tokenLifetimeMs());
    for (const { userId, tokensValidAfter } of await this.cutoffs.findBy({ tokensValidAfter: MoreThan(since) })) {
      this.userCutoffs.set(userId, tokensValidAfter.getTime());
    }
    this.pruneTimer = setInterval(() => this.prune(), PRUNE_INTERVAL_MS).unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.pruneTimer);
    await this.subscriber?.quit().catch(() => undefined);
  }

  /** Synchronous and in memory: the JWT hot path. `issuedAt` is the token's iat (seconds). */
  isAccessTokenRevoked(jti: string, userId: string, issuedAt: number): boolean {
    if (this.revokedJtis.has(jti)) return true;
    const cutoff = this.userCutoffs.get(userId);
    return cutoff !== undefined && issuedAt * 1000 < cutoff;
  }

  /**
   * The earliest `iat` (seconds) a token issued now may carry to outlive the user's cutoff:
   * iat has whole seconds, so a token issued in the same second as a revocation is dated
   * to the next second instead of being killed by it.
   */
  earliestIssuedAt(userId: string, nowMs = Date.now()): number {
    const cutoff = this.userCutoffs.get(userId) ?? 0;
    return Math.max(Math.floor(nowMs / 1000), Math.ceil(cutoff / 1000));
  }

  async revokeAccessToken(jti: string, userId: string, expiresAtSeconds: number): Promise<void> {
    const expiresAtMs = expiresAtSeconds * 1000;
    await this.revokedTokens.upsert({ jti, userId, expiresAt: new Date(expiresAtMs) }, ['jti']);
    await this.broadcast({ type: 'access-token', jti, expiresAtMs });
  }

  /** Every access token of the user issued until now dies (password change, deactivation, roles). */
  async revokeUserTokens(userId: string): Promise<void> {
    const at = new Date();
    await this.cutoffs.upsert({ userId, tokensValidAfter: at }, ['userId']);
    await this.broadcast({ type: 'user', userId, tokensValidAfterMs: at.getTime() });
  }

  /** Tells every instance (this one included) that a cached credential is gone. */
  async revokeCredential(kind: string, id: string): Promise<void> {
    await this.broadcast({ type: 'credential', kind, id });
  }

  onRevocation(listener: (event: RevocationEvent) => void): void {
    this.listeners.push(listener);
  }

  private async broadcast(event: RevocationEvent): Promise<void> {
    this.apply(event);
    if (!this.redis.client) return;
    try {
      await this.redis.client.publish(this.channel, JSON.stringify(event));
    } catch (error) {
      // Persisted already: other instances catch up at their next restart. Say so loudly.
      this.logger.error({ err: error, event: event.type }, 'revocation broadcast failed');
    }
  }

  private receive(message: string): void {
    try {
      this.apply(JSON.parse(message) as RevocationEvent);
    } catch (error) {
      this.logger.warn({ err: error }, 'ignored a malformed revocation message');
    }
  }

  private apply(event: RevocationEvent): void {
    if (event.type === 'access-token') this.revokedJtis.set(event.jti, event.expiresAtMs);
    if (event.type === 'user') {
      const current = this.userCutoffs.get(event.userId) ?? 0;
      this.userCutoffs.set(event.userId, Math.max(current, event.tokensValidAfterMs));
    }
    for (const listener of this.listeners) listener(event);
  }

  private tokenLifetimeMs(): number {
    return (this.config.auth.accessTtlSeconds + 60) * 1000;
  }

  private prune(now = Date.now()): void {
    // Kept a minute past expiry: verification accepts tokens a few seconds late (clock leeway).
    const expired = now - 60_000;
    for (const [jti, expiresAt] of this.revokedJtis) if (expiresAt < expired) this.revokedJtis.delete(jti);
    const horizon = now - this.tokenLifetimeMs();
    for (const [userId, cutoff] of this.userCutoffs) if (cutoff < horizon) this.userCutoffs.delete(userId);
  }
}
