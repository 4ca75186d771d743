import { Injectable } from '@nestjs/common';
import { Counter, type Registry } from 'prom-client';
import { MetricsRegistry } from '../../common/metrics/metrics-registry.js';

/** Mail through the outbox, by template: what was queued, sent, retried and given up on. */
@Injectable()
export class MailMetrics {
  readonly queued: Counter<'template'>;
  readonly sent: Counter<'template'>;
  readonly retried: Counter<'template'>;
  readonly failed: Counter<'template'>;
  readonly throttled: Counter;

  constructor(metrics: MetricsRegistry) {
    const registers: Registry[] = [metrics.registry];
    const labelNames = ['template'] as const;
    this.queued = new Counter({
      name: 'mail_queued_total',
      help: 'Mails written to the outbox',
      labelNames,
      registers,
    });
    this.sent = new Counter({ name: 'mail_sent_total', help: 'Mails the transport accepted', labelNames, registers });
    this.retried = new Counter({
      name: 'mail_send_errors_total',
      help: 'Delivery attempts that failed and will be retried',
      labelNames,
      registers,
    });
    this.failed = new Counter({
      name: 'mail_failed_total',
      help: 'Mails given up on after the last attempt (kept in the outbox with their error)',
      labelNames,
      registers,
    });
    this.throttled = new Counter({
      name: 'mail_throttled_total',
      help: 'Mails not queued because their recipient was over RATE_LIMIT_MAIL',
      registers,
    });
  }
}
