import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AlertWebhook } from './alerts/alert-webhook.js';
import { SecurityAlertsListener } from './alerts/security-alerts.listener.js';
import { AuditEvent } from './audit-event.entity.js';
import { AuditEventsController } from './audit-events.controller.js';
import { AuditEventsRepository } from './audit-events.repository.js';
import { AuditMetrics } from './audit-metrics.js';
import { AuditWriter } from './audit-writer.js';
import { AuditInterceptor } from './audit.interceptor.js';
import { AuditService } from './audit.service.js';

@Module({
  imports: [TypeOrmModule.forFeature([AuditEvent])],
  controllers: [AuditEventsController],
  providers: [
    AuditMetrics,
    AuditWriter,
    AuditService,
    AuditEventsRepository,
    AlertWebhook,
    SecurityAlertsListener,
    AuditInterceptor,
  ],
  // AuditInterceptor: the app module installs it as the global interceptor.
  exports: [AuditEventsRepository, AuditWriter, AuditInterceptor],
})
export class AuditModule {}
