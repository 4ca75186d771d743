import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { MetricsRegistry } from '../../common/metrics/metrics-registry.js';

@Injectable()
export class AuditMetrics {
  readonly depth: Gauge;
  readonly dropped: Counter;
  readonly waits: Counter;
  readonly flushFailures: Counter;
  readonly refused: Counter;
  readonly flushSeconds: Histogram;
  private readDepth: () => number = () => 0;

  constructor(metrics: MetricsRegistry) {
    const registers: Registry[] = [metrics.registry];
    const readDepth = () => this.readDepth();
    this.depth = new Gauge({
      name: 'audit_buffer_depth',
      help: 'Audit events waiting to be written',
      registers,
      // Read when scraped, rather than set on every event.
      collect() {
        this.set(readDepth());
      },
    });
    this.dropped = new Counter({
      name: 'audit_events_dropped_total',
      help: 'Audit events not held because the buffer was full (each counted in an audit.events-not-recorded marker)',
      registers,
    });
    this.waits = new Counter({
      name: 'audit_buffer_waits_total',
      help: 'Security events that waited for room in a full buffer',
      registers,
    });
    this.flushFailures = new Counter({
      name: 'audit_flush_failures_total',
      help: 'Audit flushes that failed and will be retried',
      registers,
    });
    this.refused = new Counter({
      name: 'audit_events_refused_total',
      help: 'Audit events dropped because the database refuses their content',
      registers,
    });
    this.flushSeconds = new Histogram({
      name: 'audit_flush_duration_seconds',
      help: 'Time to write one batch of audit events',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    });
  }

  /** Where the buffer depth is read from when the metrics are scraped. */
  measureDepth(read: () => number): void {
    this.readDepth = read;
  }
}
