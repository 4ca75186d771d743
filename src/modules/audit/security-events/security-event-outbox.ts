import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Injectable, type BeforeApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { Counter, Gauge } from 'prom-client';
import { DataSource, type EntityManager } from 'typeorm';
import { MetricsRegistry } from '../../../common/metrics/metrics-registry.js';
import { AppConfig } from '../../../config/app-config.js';
import type { SecurityEventType } from './security-event-types.js';
import { webhookKey, webhookSignature } from './webhook-signature.js';

/** Waits before the attempts after the first (the last one repeats): never given up on while the receiver fails. */
export const RETRY_SCHEDULE_MS = [500, 2_000, 10_000, 60_000, 300_000, 1_800_000, 7_200_000];
/** How often the outbox is read without a nudge: events of other instances, and retries that came due. */
const POLL_MS = 5_000;
const CLAIM_BATCH = 20;
/** Delivered events are kept this long (to answer "was it sent?"), then deleted. */
const DELIVERED_KEPT_MS = 7 * 86_400_000;
const PRUNE_EVERY_MS = 3_600_000;

interface WebhookTarget {
  /** Without user info (fetch refuses it); that goes in the Authorization header. */
  url: string;
  headers: Record<string, string>;
  /** Scheme, host and port only: what logs may name. A path or query may hold the hook's secret. */
  origin: string;
}

interface OutboxRow {
  id: string;
  type: string;
  body: string;
  attempts: number;
}

type AttemptResult = { delivered: true } | { delivered: false; retry: boolean; reason: string };

function webhookTarget(raw: string): WebhookTarget {
  const url = new URL(raw);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (url.username || url.password) {
    const pair = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
    headers.authorization = `Basic ${Buffer.from(pair).toString('base64')}`;
    url.username = '';
    url.password = '';
  }
  return { url: url.href, headers, origin: url.origin };
}

/** Names a failed attempt without its URL: fetch errors may quote it. */
function describeFailure(error: unknown): string {
  if (!(error instanceof Error)) return 'error';
  if (error.name === 'TimeoutError') return 'timeout';
  if (error.name === 'AbortError') return 'aborted';
  const code = (error.cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : error.name;
}

export function retryDelayMs(attempts: number): number {
  return RETRY_SCHEDULE_MS[Math.min(attempts, RETRY_SCHEDULE_MS.length) - 1] ?? RETRY_SCHEDULE_MS[0] ?? 0;
}

/**
 * Security events for ALERT_WEBHOOK_URL, through a durable outbox in Postgres
 * (`security_event_outbox`): `publish` stores the event and returns; delivery follows, off
 * the request path, signed per the Standard Webhooks specification (`webhook-id`,
 * `webhook-timestamp`, `webhook-signature` with ALERT_WEBHOOK_SECRET). A failed attempt
 * (network, timeout, 408, 429, 5xx) is tried again on RETRY_SCHEDULE_MS for as long as it
 * takes, under the same id, across restarts; another 4xx marks the event failed (logged and
 * counted). Instances claim due rows with FOR UPDATE SKIP LOCKED and hold them for one
 * attempt, so two never send one event at once, and a delivered event is never sent again.
 */
@Injectable()
export class SecurityEventOutbox implements OnModuleInit, BeforeApplicationShutdown {
  private readonly target: WebhookTarget | undefined;
  private readonly key: Buffer | undefined;
  private readonly stopping = new AbortController();
  private readonly deliveries: Counter;
  private running: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private lastPrune = 0;

  constructor(
    private readonly dataSource: DataSource,
    private readonly config: AppConfig,
    metrics: MetricsRegistry,
    @InjectPinoLogger(SecurityEventOutbox.name) private readonly logger: PinoLogger,
  ) {
    const { webhookUrl, webhookSecret } = config.alerts;
    this.target = webhookUrl ? webhookTarget(webhookUrl) : undefined;
    this.key = webhookSecret ? webhookKey(webhookSecret) : undefined;
    const registers = [metrics.registry];
    this.deliveries = new Counter({
      name: 'security_event_deliveries_total',
      help: 'Webhook delivery attempts of security events, by result (delivered, retry, failed)',
      labelNames: ['result'],
      registers,
    });
    const pending = () => this.pendingCount();
    new Gauge({
      name: 'security_events_pending',
      help: 'Security events stored and not yet delivered to the webhook',
      registers,
      async collect() {
        this.set(await pending());
      },
    });
  }

  get enabled(): boolean {
    return this.target !== undefined;
  }

  onModuleInit(): void {
    // Events a previous run left undelivered go out now.
    this.kick();
  }

  /** Lets the attempts in flight finish (one attempt's time at most); what is left stays stored for the next start. */
  async beforeApplicationShutdown(): Promise<void> {
    clearTimeout(this.timer);
    if (this.running) {
      await Promise.race([this.running, sleep(this.config.alerts.webhookTimeoutMs, undefined, { ref: false })]);
    }
    this.stopping.abort();
    await this.running;
  }

  /** Stores one event for delivery and starts it; resolves once it is stored. Without a webhook, nothing is stored. */
  async publish(type: SecurityEventType, data: Record<string, unknown>): Promise<void> {
    await this.store(type, data, this.dataSource.manager);
    this.kick();
  }

  /**
   * Stores one event through `manager`: inside a transaction, the event exists if and only if
   * the change it reports commits. Call `kick` after the commit.
   */
  async store(type: SecurityEventType, data: Record<string, unknown>, manager: EntityManager): Promise<void> {
    if (!this.target) return;
    const id = `msg_${randomUUID().replaceAll('-', '')}`;
    const body = JSON.stringify({ type, timestamp: new Date().toISOString(), data });
    await manager.query(`INSERT INTO security_event_outbox (id, type, body) VALUES ($1, $2, $3)`, [id, type, body]);
  }

  /** Delivers what is due now (this instance's loop; others find it at their next poll). */
  kick(): void {
    if (!this.target || this.stopping.signal.aborted) return;
    if (this.running) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.running = this.deliverDue()
      .catch((error: unknown) => this.logger.error({ err: error }, 'security event outbox failed'))
      .then(() => this.scheduleNext())
      .finally(() => {
        this.running = undefined;
      });
  }

  private async deliverDue(): Promise<void> {
    do {
      this.again = false;
      const rows = await this.claim();
      await Promise.all(rows.map((row) => this.deliver(row)));
      if (rows.length === CLAIM_BATCH) this.again = true;
    } while (this.again && !this.stopping.signal.aborted);
    if (Date.now() - this.lastPrune > PRUNE_EVERY_MS) {
      this.lastPrune = Date.now();
      await this.dataSource.query(
        `DELETE FROM security_event_outbox WHERE delivered_at < now() - $1 * interval '1 millisecond'`,
        [DELIVERED_KEPT_MS],
      );
    }
  }

  /** Wakes when the next retry comes due, or at POLL_MS for what other instances stored. */
  private async scheduleNext(): Promise<void> {
    if (this.stopping.signal.aborted) return;
    if (this.again) {
      setImmediate(() => this.kick());
      return;
    }
    const [row] = (await this.dataSource.query(
      `SELECT extract(epoch FROM min(next_attempt_at) - now()) * 1000 AS due_in FROM security_event_outbox
       WHERE delivered_at IS NULL AND failed_at IS NULL`,
    )) as { due_in: string | null }[];
    const dueIn = row?.due_in == null ? POLL_MS : Math.max(0, Math.min(POLL_MS, Number(row.due_in)));
    this.timer = setTimeout(() => this.kick(), dueIn).unref();
  }

  /** Due events, held for one attempt (its timeout and a margin) so no other instance sends them meanwhile. */
  private async claim(): Promise<OutboxRow[]> {
    const holdMs = this.config.alerts.webhookTimeoutMs + 5_000;
    return (await this.dataSource.query(
      // A WITH around the UPDATE: TypeORM hands back the rows of a SELECT as they are.
      `WITH claimed AS (
         UPDATE security_event_outbox
         SET attempts = attempts + 1, next_attempt_at = now() + $2 * interval '1 millisecond'
         WHERE id IN (
           SELECT id FROM security_event_outbox
           WHERE delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= now()
           ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
         RETURNING id, type, body, attempts)
       SELECT * FROM claimed`,
      [CLAIM_BATCH, holdMs],
    )) as OutboxRow[];
  }

  private async deliver(row: OutboxRow): Promise<void> {
    const result = await this.attempt(row);
    if (result.delivered) {
      this.deliveries.inc({ result: 'delivered' });
      await this.dataSource.query(
        `UPDATE security_event_outbox SET delivered_at = now(), last_error = NULL WHERE id = $1`,
        [row.id],
      );
      return;
    }
    const context = { webhook: this.target?.origin, id: row.id, type: row.type, attempt: row.attempts };
    if (result.retry) {
      this.deliveries.inc({ result: 'retry' });
      this.logger.warn({ ...context, reason: result.reason }, 'security event delivery failed; will retry');
      await this.dataSource.query(
        `UPDATE security_event_outbox SET next_attempt_at = now() + $2 * interval '1 millisecond', last_error = $3
         WHERE id = $1`,
        [row.id, retryDelayMs(row.attempts), result.reason],
      );
      return;
    }
    this.deliveries.inc({ result: 'failed' });
    this.logger.error({ ...context, reason: result.reason }, 'security event refused by the webhook: not retried');
    await this.dataSource.query(`UPDATE security_event_outbox SET failed_at = now(), last_error = $2 WHERE id = $1`, [
      row.id,
      result.reason,
    ]);
  }

  private async attempt(row: OutboxRow): Promise<AttemptResult> {
    const target = this.target;
    const key = this.key;
    if (!target || !key) return { delivered: false, retry: false, reason: 'no webhook configured' };
    const timestamp = Math.floor(Date.now() / 1000);
    try {
      const response = await fetch(target.url, {
        method: 'POST',
        headers: {
          ...target.headers,
          'webhook-id': row.id,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': webhookSignature(key, row.id, timestamp, row.body),
        },
        body: row.body,
        // A redirect could carry the Authorization header elsewhere; a webhook has no reason to send one.
        redirect: 'error',
        signal: AbortSignal.any([AbortSignal.timeout(this.config.alerts.webhookTimeoutMs), this.stopping.signal]),
      });
      await response.body?.cancel().catch(() => undefined);
      if (response.ok) return { delivered: true };
      const retry = response.status >= 500 || response.status === 408 || response.status === 429;
      return { delivered: false, retry, reason: `HTTP ${response.status}` };
    } catch (error) {
      return { delivered: false, retry: true, reason: describeFailure(error) };
    }
  }

  private async pendingCount(): Promise<number> {
    if (!this.target) return 0;
    const [row] = (await this.dataSource.query(
      `SELECT count(*)::int AS n FROM security_event_outbox WHERE delivered_at IS NULL AND failed_at IS NULL`,
    )) as { n: number }[];
    return row?.n ?? 0;
  }
}
