import { timingSafeEqual } from 'node:crypto';
import { Global, Injectable, Module } from '@nestjs/common';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/**
 * This instance's Prometheus registry (one per app, not prom-client's global one, so
 * several apps in one process, as in tests, do not collide), with the HTTP metrics and
 * the security counters other modules increment.
 */
@Injectable()
export class MetricsRegistry {
  readonly registry = new Registry();
  /** Its `_count` is the number of requests: a counter of its own would count them twice per request. */
  readonly httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency by method, route and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly authFailures = new Counter({
    name: 'auth_failures_total',
    help: 'Refused credentials by method and reason',
    labelNames: ['method', 'reason'],
    registers: [this.registry],
  });
  readonly rateLimited = new Counter({
    name: 'rate_limited_requests_total',
    help: 'Requests answered 429 by limit name',
    labelNames: ['limit'],
    registers: [this.registry],
  });
  readonly lockouts = new Counter({
    name: 'auth_lockouts_total',
    help: 'Sign-ins refused by lockout',
    registers: [this.registry],
  });
  readonly redisFallbacks = new Counter({
    name: 'redis_fallback_total',
    help: 'Operations served from per-instance memory because Redis did not answer',
    labelNames: ['operation'],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  /** Counts every response by its matched route pattern (ids do not explode the labels). */
  httpMiddleware(): RequestHandler {
    return (req: Request, res: Response, next: NextFunction) => {
      const started = process.hrtime.bigint();
      res.on('finish', () => {
        const labels = {
          method: req.method,
          route: (req.route?.path as string | undefined) ?? 'unmatched',
          status: String(res.statusCode),
        };
        this.httpDuration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
      });
      next();
    };
  }

  /**
   * GET /metrics, outside the API's credential guard: only with `Bearer <METRICS_TOKEN>`
   * (compared in constant time); without a configured token the endpoint does not exist.
   */
  endpoint(token: string | undefined): RequestHandler {
    const expected = token ? Buffer.from(`Bearer ${token}`) : undefined;
    return (req: Request, res: Response, next: NextFunction) => {
      if (!expected) return next();
      const given = Buffer.from(req.headers.authorization ?? '');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        res.status(401).setHeader('WWW-Authenticate', 'Bearer realm="metrics"');
        res.type('application/problem+json').send(
          JSON.stringify({
            type: 'urn:problem:unauthenticated',
            title: 'Authentication required',
            status: 401,
            instance: '/metrics',
            requestId: req.id,
          }),
        );
        return;
      }
      this.registry
        .metrics()
        .then((text) => res.type(this.registry.contentType).send(text))
        .catch(next);
    };
  }
}

@Global()
@Module({ providers: [MetricsRegistry], exports: [MetricsRegistry] })
export class MetricsModule {}
