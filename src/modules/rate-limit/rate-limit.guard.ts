import { Inject, Injectable, type ExecutionContext } from '@nestjs/common';
import { ThrottlerGuard, type ThrottlerRequest } from '@nestjs/throttler';
import type { Request, Response } from 'express';
import { TooManyRequestsError } from '../../common/errors/app-error.js';
import { AppConfig } from '../../config/app-config.js';
import { RATE_LIMIT_SKIP } from './rate-limit.decorator.js';

/** The tightest limit that applied to a request: what its RateLimit headers report. */
interface AppliedLimit {
  name: string;
  limit: number;
  remaining: number;
  resetSeconds: number;
  windowSeconds: number;
}

declare module 'express-serve-static-core' {
  interface Request {
    appliedRateLimit?: AppliedLimit;
  }
}

/**
 * @nestjs/throttler with the named limits of RateLimitModule, answering with the IETF
 * RateLimit headers and a problem+json 429. It runs inside the credential guard, after
 * authentication, so buckets key on the principal (user, API key) or else the address.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  // A property, so ThrottlerGuard's constructor (and its injection tokens) stays as it is.
  @Inject(AppConfig) private readonly config!: AppConfig;

  protected override async handleRequest(request: ThrottlerRequest): Promise<boolean> {
    const { context, limit, ttl, throttler, getTracker, generateKey } = request;
    const { req, res } = this.getRequestResponse(context) as { req: Request; res: Response };
    const name = throttler.name ?? 'default';
    const key = generateKey(context, await getTracker(req, context), name);
    const record = await this.storageService.increment(key, ttl, limit, ttl, name);
    const applied: AppliedLimit = {
      name,
      limit,
      remaining: Math.max(0, limit - record.totalHits),
      resetSeconds: record.timeToExpire,
      windowSeconds: Math.ceil(ttl / 1000),
    };
    if (!req.appliedRateLimit || applied.remaining < req.appliedRateLimit.remaining) req.appliedRateLimit = applied;
    if (record.isBlocked) {
      setRateLimitHeaders(res, applied);
      throw new TooManyRequestsError(`Rate limit "${name}" exceeded; slow down.`, record.timeToBlockExpire);
    }
    return true;
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const allowed = await super.canActivate(context);
    const { req, res } = this.getRequestResponse(context) as { req: Request; res: Response };
    if (req.appliedRateLimit) setRateLimitHeaders(res, req.appliedRateLimit);
    return allowed;
  }

  /** Everything is skipped with RATE_LIMITS_ENABLED=false (benchmarks); else @SkipRateLimit() routes. */
  protected override shouldSkip(context: ExecutionContext): Promise<boolean> {
    return Promise.resolve(
      !this.config.rateLimits.enabled ||
        this.reflector.getAllAndOverride<boolean | undefined>(RATE_LIMIT_SKIP, [
          context.getHandler(),
          context.getClass(),
        ]) === true,
    );
  }

  /** Buckets are per principal or address, not per route: one budget across the API. */
  protected override generateKey(_context: ExecutionContext, tracker: string, name: string): string {
    return `${name}:${tracker}`;
  }
}

function setRateLimitHeaders(res: Response, applied: AppliedLimit): void {
  res.setHeader('RateLimit-Limit', String(applied.limit));
  res.setHeader('RateLimit-Remaining', String(applied.remaining));
  res.setHeader('RateLimit-Reset', String(applied.resetSeconds));
  res.setHeader('RateLimit-Policy', `${applied.limit};w=${applied.windowSeconds};name="${applied.name}"`);
}
