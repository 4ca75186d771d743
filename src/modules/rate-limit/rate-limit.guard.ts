import { Inject, Injectable, type ExecutionContext, type OnApplicationBootstrap } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import { ThrottlerGuard, type ThrottlerOptions } from '@nestjs/throttler';
import type { Request, Response } from 'express';
import { routeSecurity } from '../../common/auth/route-security.js';
import { TooManyRequestsError } from '../../common/errors/app-error.js';
import { AppConfig } from '../../config/app-config.js';

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

type Throttler = ThrottlerOptions & { name: string };

/** A limit or window: a number, or a function of the request (each API key's own limit). */
function resolved(value: ThrottlerOptions['limit'], context: ExecutionContext): number | Promise<number> {
  return typeof value === 'function' ? value(context) : value;
}

/**
 * @nestjs/throttler's named limits (RateLimitModule), storage and trackers, answering with
 * the IETF RateLimit headers and a problem+json 429. It runs inside the credential guard,
 * after authentication, so buckets key on the principal (user, API key) or else the address.
 *
 * `canActivate` is ours rather than ThrottlerGuard's: which limits a route has is decided
 * once per route (our @SkipRateLimit and @ScopedRateLimit, read by `routeSecurity` and
 * cached per handler) instead of with a dozen metadata lookups and awaits on every request,
 * which cost more than counting itself. @nestjs/throttler's own @Throttle and @SkipThrottle
 * are refused: by the lint, and by `routeSecurity` when the server boots.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard implements OnApplicationBootstrap {
  // Properties, so ThrottlerGuard's constructor (and its injection tokens) stays as it is.
  @Inject(AppConfig) private readonly config!: AppConfig;
  @Inject(DiscoveryService) private readonly discovery!: DiscoveryService;
  @Inject(MetadataScanner) private readonly scanner!: MetadataScanner;

  /**
   * Reads every route's declarations once at boot: a route with @nestjs/throttler's own
   * decorators stops the boot (`routeSecurity` refuses them), and requests find the cache warm.
   */
  onApplicationBootstrap(): void {
    for (const { metatype, instance } of this.discovery.getControllers()) {
      if (!metatype || !instance) continue;
      const prototype = Object.getPrototypeOf(instance) as Record<string, object>;
      for (const name of this.scanner.getAllMethodNames(prototype)) routeSecurity(prototype[name] as object, metatype);
    }
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    if (!this.isLimited(context)) return true;
    const { req, res } = this.getRequestResponse(context) as { req: Request; res: Response };
    for (const throttler of this.throttlers as Throttler[]) {
      if (throttler.skipIf?.(context)) continue;
      await this.count(context, req, res, throttler);
    }
    if (req.appliedRateLimit) setRateLimitHeaders(res, req.appliedRateLimit);
    return true;
  }

  /** Counts the request against one named limit; throws the 429 past it. */
  private async count(context: ExecutionContext, req: Request, res: Response, throttler: Throttler): Promise<void> {
    const limit = await resolved(throttler.limit, context);
    const ttl = await resolved(throttler.ttl, context);
    const tracker = await (throttler.getTracker as NonNullable<ThrottlerOptions['getTracker']>)(req, context);
    const key = this.generateKey(context, tracker, throttler.name);
    const record = await this.storageService.increment(key, ttl, limit, ttl, throttler.name);
    const applied: AppliedLimit = {
      name: throttler.name,
      limit,
      remaining: Math.max(0, limit - record.totalHits),
      resetSeconds: record.timeToExpire,
      windowSeconds: Math.ceil(ttl / 1000),
    };
    if (!req.appliedRateLimit || applied.remaining < req.appliedRateLimit.remaining) req.appliedRateLimit = applied;
    if (record.isBlocked) {
      setRateLimitHeaders(res, applied);
      throw new TooManyRequestsError(`Rate limit "${throttler.name}" exceeded; slow down.`, record.timeToBlockExpire);
    }
  }

  /** Everything is skipped with RATE_LIMITS_ENABLED=false (benchmarks); else @SkipRateLimit() routes. */
  private isLimited(context: ExecutionContext): boolean {
    if (!this.config.rateLimits.enabled) return false;
    return routeSecurity(context.getHandler(), context.getClass()).rateLimit?.kind !== 'skip';
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
