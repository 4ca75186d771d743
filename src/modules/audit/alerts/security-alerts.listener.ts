import { Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import type { Request } from 'express';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { Counter } from 'prom-client';
import { AUDIT_RECORD, type AuditRecord } from '../../../common/audit/audit-record.js';
import { clientBucket } from '../../../common/http/client-address.js';
import { currentRequest } from '../../../common/http/request-context.js';
import { MetricsRegistry } from '../../../common/metrics/metrics-registry.js';
import { RedisService } from '../../../common/redis/redis.service.js';
import { AppConfig } from '../../../config/app-config.js';
import { AuditService } from '../audit.service.js';
import { AlertDetectors, SECURITY_ALERT_ACTION, type Detection } from './alert-detectors.js';
import { SecurityEventFeed } from '../security-events/security-event-feed.js';
import { SECURITY_EVENT_TYPES } from '../security-events/security-event-types.js';

const MIN_PRUNE_INTERVAL_MS = 30_000;

/**
 * Watches every audit record for suspicious activity (bursts of failed sign-ins per address
 * and per account, bursts of denied responses per address, refresh-token reuse, an API key
 * used from a new address) and raises one alert per detector and subject per window: a
 * `security.alert` audit event, a warning in the log, and a signed `security.alert`
 * security event for ALERT_WEBHOOK_URL when it is set. Counting is shared through Redis when it
 * is configured (see AlertDetectors), one short script per counted record.
 */
@Injectable()
export class SecurityAlertsListener implements OnModuleInit, OnApplicationShutdown {
  private readonly detectors: AlertDetectors;
  private readonly raised: Counter;
  private pruneTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly config: AppConfig,
    private readonly audit: AuditService,
    private readonly securityEvents: SecurityEventFeed,
    metrics: MetricsRegistry,
    redis: RedisService,
    @InjectPinoLogger(SecurityAlertsListener.name) private readonly logger: PinoLogger,
  ) {
    this.detectors = new AlertDetectors(config.alerts, redis.client);
    this.raised = new Counter({
      name: 'security_alerts_total',
      help: 'Security alerts raised by detector',
      labelNames: ['detector'],
      registers: [metrics.registry],
    });
  }

  onModuleInit(): void {
    const every = Math.max(this.config.alerts.windowSeconds * 1000, MIN_PRUNE_INTERVAL_MS);
    this.pruneTimer = setInterval(() => this.detectors.prune(), every).unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.pruneTimer);
  }

  /** Runs inside the emitter's call, so the request context is still the one that produced the record. */
  @OnEvent(AUDIT_RECORD)
  async observe(record: AuditRecord): Promise<void> {
    const request = currentRequest();
    let detections: Detection[];
    try {
      detections = await this.detectors.observe(record, {
        address: request ? clientBucket(request) : undefined,
        request,
      });
    } catch (error) {
      this.logger.error({ err: error }, 'alert detectors failed');
      return;
    }
    await Promise.all(detections.map((detection) => this.raise(detection, request)));
  }

  private async raise({ detector, subject, count }: Detection, request: Request | undefined): Promise<void> {
    const window = this.config.alerts.windowSeconds;
    const at = new Date().toISOString();
    this.raised.inc({ detector });
    this.logger.warn({ alert: { detector, subject, count, windowSeconds: window } }, 'security alert');
    this.securityEvents.publish(SECURITY_EVENT_TYPES.alert, { detector, subject, count, windowSeconds: window, at });
    try {
      await this.audit.record(
        {
          action: SECURITY_ALERT_ACTION,
          outcome: 'denied',
          security: true,
          target: subject.slice(0, 200),
          details: { detector, subject, count, window },
        },
        request,
      );
    } catch (error) {
      this.logger.error({ err: error, detector }, 'security alert not audited');
    }
  }
}
