import { Injectable, type BeforeApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { DataSource } from 'typeorm';
import { AppConfig } from '../../../config/app-config.js';
import { SigningKeysService } from '../../auth/jwt/signing-keys.service.js';
import { AuditWriter } from '../audit-writer.js';
import { SecurityEventFeed } from '../security-events/security-event-feed.js';
import { SECURITY_EVENT_TYPES } from '../security-events/security-event-types.js';
import { signCheckpoint, type ChainHead, type Checkpoint } from './audit-checkpoint.js';

/**
 * Anchors the audit trail outside the database: every AUDIT_CHECKPOINT_INTERVAL, and once
 * more at shutdown after the buffer drained, signs the chain head (sequence, hash, time) as
 * a JWS with the server's signing key, keeps it in `audit_checkpoints` (append-only for the
 * server's role), writes it to the log and sends it to the webhook as `audit.checkpoint`.
 * A head already checkpointed is not signed again. `npm run cli -- audit:verify` checks the
 * trail against the newest checkpoint: a cut tail or a rehashed history no longer matches.
 */
@Injectable()
export class AuditCheckpointer implements OnModuleInit, BeforeApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<Checkpoint | undefined> | undefined;

  constructor(
    private readonly dataSource: DataSource,
    private readonly config: AppConfig,
    private readonly keys: SigningKeysService,
    private readonly writer: AuditWriter,
    private readonly securityEvents: SecurityEventFeed,
    @InjectPinoLogger(AuditCheckpointer.name) private readonly logger: PinoLogger,
  ) {}

  onModuleInit(): void {
    const seconds = this.config.audit.checkpointIntervalSeconds;
    if (seconds > 0) this.timer = setInterval(() => void this.checkpoint(), seconds * 1000).unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.writer.drain(Date.now() + this.config.app.shutdownGraceSeconds * 1000);
    await this.checkpoint();
  }

  /** Signs and publishes the current head; undefined when there is nothing new to sign (or it failed, logged). */
  checkpoint(): Promise<Checkpoint | undefined> {
    this.running ??= this.signHead()
      .catch((error: unknown) => {
        this.logger.error({ err: error }, 'audit checkpoint failed');
        return undefined;
      })
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  private async signHead(): Promise<Checkpoint | undefined> {
    const [head] = (await this.dataSource.query(
      `SELECT seq::text AS seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1`,
    )) as ChainHead[];
    if (!head) return undefined;
    const [last] = (await this.dataSource.query(
      `SELECT seq::text AS seq FROM audit_checkpoints ORDER BY id DESC LIMIT 1`,
    )) as { seq: string }[];
    if (last?.seq === head.seq) return undefined;
    if (last && BigInt(head.seq) < BigInt(last.seq)) {
      // Retention never deletes the newest event: the tail was cut. Signing this head would vouch for it.
      this.logger.error(
        { checkpointSeq: last.seq, headSeq: head.seq },
        'audit trail ends before its last checkpoint: events were deleted; not signed',
      );
      return undefined;
    }
    const key = this.keys.current;
    const checkpoint = await signCheckpoint(
      head,
      { kid: key.kid, alg: key.alg, privateKey: key.privateKey },
      this.config.auth.issuer,
      new Date(),
    );
    await this.dataSource.query(`INSERT INTO audit_checkpoints (seq, hash, at, jws) VALUES ($1, $2, $3, $4)`, [
      checkpoint.seq,
      checkpoint.hash,
      checkpoint.at,
      checkpoint.jws,
    ]);
    const published = { seq: checkpoint.seq, hash: checkpoint.hash.toString('hex'), at: checkpoint.at.toISOString() };
    this.logger.info({ checkpoint: { ...published, jws: checkpoint.jws } }, 'audit checkpoint');
    this.securityEvents.publish(SECURITY_EVENT_TYPES.checkpoint, { ...published, jws: checkpoint.jws });
    return checkpoint;
  }
}
