import { Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Redis } from 'ioredis';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { DataSource, MoreThan, type EntityManager } from 'typeorm';
import type { CredentialKind } from '../../../common/auth/credential-kind.js';
import { RedisService } from '../../../common/redis/redis.service.js';
import { AppConfig } from '../../../config/app-config.js';
import { CLOCK_MARGIN_MS } from '../jwt/clock-margin.js';
import type { RevocationEvent } from './revocation-event.js';
import { RevocationLogEntry } from './revocation-log-entry.entity.js';
import { RevokedAccessToken } from './revoked-access-token.entity.js';
import { TokenCutoff } from './token-cutoff.entity.js';

export type { RevocationEvent } from './revocation-event.js';

const CHANNEL = 'auth:revocations';
const PRUNE_INTERVAL_MS = 60_000;
/**
 * How far back each catch-up re-reads the log. Sequence numbers are taken when a transaction
 * inserts, not when it commits, so a slow transaction can commit an older number after a
 * newer one was read; re-reading a window (applying is idempotent) finds it. Longer than any
 * transaction may run (DB_QUERY_TIMEOUT bounds each statement).
 */
const REREAD_WINDOW_MS = 60_000;

/**
 * Revocation that is instant, cheap and durable. JWTs are checked against two in-memory
 * tables, with no database round trip: revoked token ids (until they would expire) and, per
 * user, the instant before which every token is dead. Every revocation is written in the
 * transaction of the change that causes it (with the change, or not at all), then applied
 * here and broadcast through Redis pub/sub after the commit. Postgres stays the truth: each
 * instance loads the tables at boot and replays the revocation log on a timer and whenever its
 * Redis subscription comes back, so a lost message or a Redis outage delays nothing for longer
 * than REVOCATION_SYNC_INTERVAL.
 */
@Injectable()
export class RevocationService implements OnModuleInit, OnApplicationShutdown {
  private readonly revokedJtis = new Map<string, number>();
  private readonly userCutoffs = new Map<string, { validAfterMs: number; generation: number }>();
  private readonly listeners: ((event: RevocationEvent) => void)[] = [];
  /** Log entries applied within the re-read window, so a replay re-applies nothing. */
  private readonly appliedSeqs = new Map<string, number>();
  private subscriber: Redis | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;
  private syncTimer: NodeJS.Timeout | undefined;
  private syncing: Promise<void> | undefined;
  /** The database's clock at the last catch-up: the next one reads from a window before it. */
  private syncedUpTo = new Date(0);
  /** ioredis prefixes keys but not pub/sub channels: deployments sharing a Redis must not hear each other. */
  private readonly channel: string;

  constructor(
    private readonly config: AppConfig,
    private readonly redis: RedisService,
    @InjectDataSource() private readonly dataSource: DataSource,
    @InjectPinoLogger(RevocationService.name) private readonly logger: PinoLogger,
  ) {
    this.channel = `${config.redis.keyPrefix}${CHANNEL}`;
  }

  async onModuleInit(): Promise<void> {
    // Subscribe before loading, so nothing revoked in between is missed.
    if (this.redis.enabled) {
      this.subscriber = this.redis.createSubscriber();
      this.subscriber.on('message', (_channel: string, message: string) => this.receive(message));
      // Messages sent while the subscription was down are gone: replay the log instead.
      this.subscriber.on('ready', () => void this.catchUp());
      await this.subscriber.subscribe(this.channel);
    }
    await this.load();
    this.pruneTimer = setInterval(() => this.prune(), PRUNE_INTERVAL_MS).unref();
    this.syncTimer = setInterval(() => void this.catchUp(), this.config.auth.revocationSyncSeconds * 1000).unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.pruneTimer);
    clearInterval(this.syncTimer);
    await this.syncing;
    await this.subscriber?.quit().catch(() => undefined);
  }

  /**
   * Synchronous and in memory: the JWT hot path. `generation` is the token's `gen` claim, the
   * user's cut-off generation when it was issued.
   */
  isAccessTokenRevoked(jti: string, userId: string, generation: number): boolean {
    if (this.revokedJtis.has(jti)) return true;
    const cutoff = this.userCutoffs.get(userId);
    return cutoff !== undefined && generation < cutoff.generation;
  }

  /**
   * For tokens this server cannot stamp (the OAuth server's, whose `iat` is the second they
   * were issued): issued in a whole second before the user's cut-off. A token of the cut-off's
   * own second passes here; the OAuth server's tokens and grants are deleted in the
   * transaction of the change that cut off, which is what ends them, and this check backs that
   * up without killing a token issued just after a role change.
   */
  isIssuedBeforeCutoff(userId: string, issuedAt: number): boolean {
    const cutoff = this.userCutoffs.get(userId);
    return cutoff !== undefined && issuedAt < Math.floor(cutoff.validAfterMs / 1000);
  }

  /** The user's cut-off generation as the database has it (read in an issuing transaction): a new token's `gen`. */
  async generationOf(manager: EntityManager, userId: string): Promise<number> {
    return (await manager.findOneBy(TokenCutoff, { userId }))?.generation ?? 0;
  }

  /** An access token dies before its expiry (logout, a revoked refresh family). */
  accessToken(jti: string, userId: string, expiresAtSeconds: number): RevocationEvent {
    return { type: 'access-token', jti, userId, expiresAtMs: expiresAtSeconds * 1000 };
  }

  /** Every access token of the user issued until now dies (password change, deactivation, roles). */
  userTokens(userId: string): RevocationEvent {
    // The generation is the database's: `record` fills it in.
    return { type: 'user', userId, tokensValidAfterMs: Date.now(), generation: 0 };
  }

  /** A credential that caches hold (an API key) is gone. */
  credential(kind: CredentialKind, id: string, userId: string): RevocationEvent {
    return { type: 'credential', kind, id, userId };
  }

  /**
   * Writes revocations in the caller's transaction: they commit with the change that causes
   * them, or not at all. Publish what it returns (cut-offs with their generation) after the commit.
   */
  async record(manager: EntityManager, given: readonly RevocationEvent[]): Promise<RevocationEvent[]> {
    if (given.length === 0) return [];
    const events: RevocationEvent[] = [];
    for (const event of given) {
      events.push(event.type === 'user' ? await this.recordCutoff(manager, event) : event);
      if (event.type === 'access-token') {
        await manager.upsert(
          RevokedAccessToken,
          { jti: event.jti, userId: event.userId, expiresAt: new Date(event.expiresAtMs) },
          { conflictPaths: ['jti'] },
        );
      }
    }
    await manager.insert(
      RevocationLogEntry,
      events.map((event) => ({ event })),
    );
    return events;
  }

  /** One more generation for the user; the row lock orders it after any issue in flight. */
  private async recordCutoff(
    manager: EntityManager,
    event: Extract<RevocationEvent, { type: 'user' }>,
  ): Promise<RevocationEvent> {
    // GREATEST: of two concurrent cut-offs the later instant stays, whatever order they commit in.
    const [row] = (await manager.query(
      `INSERT INTO token_cutoffs (user_id, tokens_valid_after, generation) VALUES ($1, $2, 1)
       ON CONFLICT (user_id) DO UPDATE
       SET tokens_valid_after = GREATEST(token_cutoffs.tokens_valid_after, EXCLUDED.tokens_valid_after),
           generation = token_cutoffs.generation + 1
       RETURNING generation`,
      [event.userId, new Date(event.tokensValidAfterMs)],
    )) as [{ generation: number }];
    return { ...event, generation: row.generation };
  }

  /** Applies committed revocations here and tells every other instance; lost messages are caught up. */
  async publish(events: readonly RevocationEvent[]): Promise<void> {
    for (const event of events) this.apply(event);
    if (!this.redis.client || events.length === 0) return;
    try {
      await this.redis.client.publish(this.channel, JSON.stringify(events));
    } catch (error) {
      // Committed already: the other instances replay it from the log within a sync interval.
      this.logger.warn({ err: error }, 'revocation broadcast failed; other instances catch up from the log');
    }
  }

  /** Records and publishes in a transaction of its own, for revocations that change nothing else. */
  async revoke(...events: RevocationEvent[]): Promise<void> {
    await this.publish(await this.dataSource.transaction((manager) => this.record(manager, events)));
  }

  onRevocation(listener: (event: RevocationEvent) => void): void {
    this.listeners.push(listener);
  }

  /**
   * Replays the revocation log from a window before the last catch-up: on a timer, on every
   * Redis reconnect, and on demand (tests). Concurrent calls share one run.
   */
  catchUp(): Promise<void> {
    this.syncing ??= this.replayLog()
      .catch((error: unknown) => this.logger.warn({ err: error }, 'revocation catch-up failed; retrying on the timer'))
      .finally(() => {
        this.syncing = undefined;
      });
    return this.syncing;
  }

  private async replayLog(): Promise<void> {
    const since = new Date(this.syncedUpTo.getTime() - REREAD_WINDOW_MS);
    const [{ now }] = (await this.dataSource.query('SELECT clock_timestamp() AS now')) as [{ now: Date }];
    const rows = await this.dataSource
      .getRepository(RevocationLogEntry)
      .find({ where: { at: MoreThan(since) }, order: { seq: 'ASC' } });
    for (const row of rows) {
      if (this.appliedSeqs.has(row.seq)) continue;
      this.appliedSeqs.set(row.seq, row.at.getTime());
      this.apply(row.event);
    }
    this.syncedUpTo = now;
    const forget = now.getTime() - 2 * REREAD_WINDOW_MS;
    for (const [seq, at] of this.appliedSeqs) if (at < forget) this.appliedSeqs.delete(seq);
  }

  /** The state at boot: every revocation still in force, then the log's recent tail as seen. */
  private async load(): Promise<void> {
    const now = Date.now();
    const revoked = await this.dataSource
      .getRepository(RevokedAccessToken)
      .findBy({ expiresAt: MoreThan(new Date(now)) });
    for (const row of revoked) this.revokedJtis.set(row.jti, row.expiresAt.getTime());
    const since = new Date(now - this.horizonMs());
    const cutoffs = await this.dataSource.getRepository(TokenCutoff).findBy({ tokensValidAfter: MoreThan(since) });
    for (const { userId, tokensValidAfter, generation } of cutoffs) {
      this.userCutoffs.set(userId, { validAfterMs: tokensValidAfter.getTime(), generation });
    }
    // The tables hold every revocation in force: of the log, only the re-read window matters.
    this.syncedUpTo = new Date(now);
    await this.replayLog();
  }

  private receive(message: string): void {
    try {
      const events = JSON.parse(message) as RevocationEvent[];
      for (const event of events) this.apply(event);
    } catch (error) {
      this.logger.warn({ err: error }, 'ignored a malformed revocation message');
    }
  }

  private apply(event: RevocationEvent): void {
    if (event.type === 'access-token') this.revokedJtis.set(event.jti, event.expiresAtMs);
    if (event.type === 'user') {
      const current = this.userCutoffs.get(event.userId);
      this.userCutoffs.set(event.userId, {
        validAfterMs: Math.max(current?.validAfterMs ?? 0, event.tokensValidAfterMs),
        generation: Math.max(current?.generation ?? 0, event.generation),
      });
    }
    for (const listener of this.listeners) listener(event);
  }

  /** A cut-off must outlive every token it can kill: first-party and OAuth access tokens, and OAuth grants. */
  private horizonMs(): number {
    return this.config.auth.revocationHorizonSeconds * 1000 + CLOCK_MARGIN_MS;
  }

  private prune(now = Date.now()): void {
    const expired = now - CLOCK_MARGIN_MS;
    for (const [jti, expiresAt] of this.revokedJtis) if (expiresAt < expired) this.revokedJtis.delete(jti);
    const horizon = now - this.horizonMs();
    for (const [userId, cutoff] of this.userCutoffs) if (cutoff.validAfterMs < horizon) this.userCutoffs.delete(userId);
  }
}
