import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { SecurityAlertsListener } from './alerts/security-alerts.listener.js';
import { AuthModule } from '../auth/auth.module.js';
import { AuditCheckpointer } from './checkpoints/audit-checkpointer.js';
import { OcsfStream } from './ocsf/ocsf-stream.js';
import { AuditEvent } from './audit-event.entity.js';
import { AuditEventsController } from './audit-events.controller.js';
import { AuditEventsRepository } from './audit-events.repository.js';
import { AuditPrivileges } from './audit-privileges.js';
import { AuditMetrics } from './audit-metrics.js';
import { AuditWriter } from './audit-writer.js';
import { AuditService } from './audit.service.js';
import { SecurityEventFeed } from './security-events/security-event-feed.js';
import { SecurityEventOutbox } from './security-events/security-event-outbox.js';

@Module({
  imports: [TypeOrmModule.forFeature([AuditEvent]), AuthModule],
  controllers: [AuditEventsController],
  providers: [
    AuditMetrics,
    AuditPrivileges,
    AuditWriter,
    AuditService,
    AuditEventsRepository,
    SecurityEventOutbox,
    SecurityEventFeed,
    SecurityAlertsListener,
    AuditCheckpointer,
    OcsfStream,
  ],
  exports: [AuditEventsRepository, AuditWriter, AuditPrivileges, AuditCheckpointer],
})
export class AuditModule {}
