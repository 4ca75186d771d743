import { Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { AppConfig } from '../../../config/app-config.js';

/** The JSON body POSTed to ALERT_WEBHOOK_URL. */
export interface AlertPayload {
  alert: 'security.alert';
  detector: string;
  subject: string;
  count: number;
  /** ISO 8601. */
  at: string;
}

export const WEBHOOK_ATTEMPTS = 3;
export const WEBHOOK_BACKOFF_MS = 200;

interface WebhookTarget {
  /** Without user info (fetch refuses it); that goes in the Authorization header. */
  url: string;
  headers: Record<string, string>;
  /** Scheme, host and port only: what logs may name. A path or query may hold the hook's secret. */
  origin: string;
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

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * POSTs alerts to ALERT_WEBHOOK_URL, off the request path: `send` returns at once, each
 * attempt has a time limit, and a failed one (network, timeout, 408, 429, 5xx) is tried
 * again after 200 ms, then 400 ms. Logs name the webhook by its origin only.
 */
@Injectable()
export class AlertWebhook implements BeforeApplicationShutdown {
  private readonly target: WebhookTarget | undefined;
  private readonly stopping = new AbortController();
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly config: AppConfig,
    @InjectPinoLogger(AlertWebhook.name) private readonly logger: PinoLogger,
  ) {
    this.target = config.alerts.webhookUrl ? webhookTarget(config.alerts.webhookUrl) : undefined;
  }

  /** Fire and forget: never throws, never waits. */
  send(payload: AlertPayload): void {
    if (!this.target || this.stopping.signal.aborted) return;
    const delivery = this.deliver(this.target, JSON.stringify(payload)).finally(() => this.pending.delete(delivery));
    this.pending.add(delivery);
  }

  /** Gives deliveries in flight one attempt's time to finish, then abandons them. */
  async beforeApplicationShutdown(): Promise<void> {
    if (this.pending.size > 0) {
      const grace = sleep(this.config.alerts.webhookTimeoutMs, this.stopping.signal);
      await Promise.race([Promise.allSettled(this.pending), grace]);
    }
    this.stopping.abort();
    await Promise.allSettled(this.pending);
  }

  private async deliver(target: WebhookTarget, body: string): Promise<void> {
    let last: AttemptResult = { delivered: false, retry: false, reason: 'not tried' };
    for (let attempt = 0; attempt < WEBHOOK_ATTEMPTS; attempt += 1) {
      if (attempt > 0) await sleep(WEBHOOK_BACKOFF_MS * 2 ** (attempt - 1), this.stopping.signal);
      if (this.stopping.signal.aborted) break;
      last = await this.attempt(target, body);
      if (last.delivered) return;
      this.logger.warn(
        { webhook: target.origin, attempt: attempt + 1, reason: last.reason },
        'alert webhook attempt failed',
      );
      if (!last.retry) break;
    }
    if (!last.delivered) {
      this.logger.error({ webhook: target.origin, reason: last.reason }, 'alert webhook gave up');
    }
  }

  private async attempt(target: WebhookTarget, body: string): Promise<AttemptResult> {
    try {
      const response = await fetch(target.url, {
        method: 'POST',
        headers: target.headers,
        body,
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
}
