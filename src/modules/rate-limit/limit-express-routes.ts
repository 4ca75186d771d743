import { EventEmitter2 } from '@nestjs/event-emitter';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import type { INestApplication } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { getLoggerToken, type PinoLogger } from 'nestjs-pino';
import { ProblemDetailsFilter } from '../../common/errors/problem-details.filter.js';
import { MetricsRegistry } from '../../common/metrics/metrics-registry.js';
import { RateLimitGuard, type AddressLimitName } from './rate-limit.guard.js';

/** Which per-address limits a request counts against; none leaves it unlimited. */
export type AddressLimitsOf = (req: Request) => readonly AddressLimitName[];

/**
 * The API's limiter in front of routes Express serves outside Nest's guards (the OAuth
 * server, Swagger UI, metrics): each request counts against its address's buckets, shared
 * with the API's routes, and past a limit is answered as the API answers, by the one
 * problem-details filter (problem+json 429, Retry-After, RateLimit-*, audited). Mount it
 * before what it guards.
 */
export function limitExpressRoutes(app: INestApplication, path: string, limitsOf: AddressLimitsOf): void {
  const limiter = app.get(RateLimitGuard);
  const filter = new ProblemDetailsFilter(
    app.get<PinoLogger>(getLoggerToken('errors')),
    app.get(EventEmitter2),
    app.get(MetricsRegistry),
  );
  app.use(path, (req: Request, res: Response, next: NextFunction) => {
    limiter.countByAddress(req, res, limitsOf(req)).then(
      () => next(),
      (error: unknown) => filter.catch(error, new ExecutionContextHost([req, res, next])),
    );
  });
}
