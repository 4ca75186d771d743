import { Injectable } from '@nestjs/common';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { Gauge } from 'prom-client';
import { MetricsRegistry } from '../../common/metrics/metrics-registry.js';
import { RedisService } from '../../common/redis/redis.service.js';

/** Far below a probe's own timeout (Kubernetes: 1 s by default, ours 3 s), so the answer says why. */
export const PROBE_TIMEOUT_MS = 1_500;

/** What happens while Redis is away, in the readiness body (docs/deploy.md says the same). */
const DEGRADED_IMPACT =
  'rate limits and lockout count in each instance’s memory; revocations reach other instances at their restart';

export type RedisHealth = { status: 'up' } | { status: 'degraded'; impact: string };

/**
 * Redis as readiness sees it: reported, never deciding. Each probe pings; the answer goes
 * into the body, the `redis_up` gauge, and one log line per change (not one per probe).
 */
@Injectable()
export class RedisReadiness {
  private readonly up: Gauge;
  private lastUp: boolean | undefined;

  constructor(
    private readonly redis: RedisService,
    metrics: MetricsRegistry,
    @InjectPinoLogger(RedisReadiness.name) private readonly logger: PinoLogger,
  ) {
    this.up = new Gauge({
      name: 'redis_up',
      help: '1 when the last readiness probe reached Redis, 0 when it is degraded (absent without REDIS_URL)',
      registers: [metrics.registry],
    });
  }

  /** Undefined without REDIS_URL: there is nothing to degrade. */
  async probe(): Promise<RedisHealth | undefined> {
    const client = this.redis.client;
    if (!client) return undefined;
    const answered = await Promise.race([
      client.ping().then(
        () => true,
        () => false,
      ),
      new Promise<false>((resolve) => setTimeout(resolve, PROBE_TIMEOUT_MS, false).unref()),
    ]);
    this.up.set(answered ? 1 : 0);
    if (answered !== this.lastUp) {
      if (!answered) this.logger.warn({ dependency: 'redis', impact: DEGRADED_IMPACT }, 'readiness: redis degraded');
      else if (this.lastUp === false) this.logger.info({ dependency: 'redis' }, 'readiness: redis up again');
      this.lastUp = answered;
    }
    return answered ? { status: 'up' } : { status: 'degraded', impact: DEGRADED_IMPACT };
  }
}
