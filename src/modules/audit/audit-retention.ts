import { Injectable, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppConfig } from '../../config/app-config.js';
import { AuditEvent } from './audit-event.entity.js';
import { AuditEventsRepository } from './audit-events.repository.js';

/** Deletes audit events older than AUDIT_RETENTION; with it unset, keeps them all (null). */
@Injectable()
export class AuditRetention {
  constructor(
    private readonly config: AppConfig,
    private readonly events: AuditEventsRepository,
  ) {}

  async purgeExpired(now: Date): Promise<number | null> {
    const retention = this.config.retention.auditSeconds;
    if (retention === undefined) return null;
    return this.events.purgeBefore(new Date(now.getTime() - retention * 1000));
  }
}

/** The purge alone (no writer, no alerts, no HTTP), so the `tokens:purge` command can boot it. */
@Module({
  imports: [TypeOrmModule.forFeature([AuditEvent])],
  providers: [AuditEventsRepository, AuditRetention],
  exports: [AuditRetention],
})
export class AuditRetentionModule {}
