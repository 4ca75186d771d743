import { Inject, Injectable, type ExecutionContext, type OnApplicationBootstrap } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import { ThrottlerGuard, type ThrottlerOptions } from '@nestjs/throttler';
import type { Request, Response } from 'express';
import { routeSecurity } from '../../common/auth/route-security.js';
import { TooManyRequestsError } from '../../common/errors/app-error.js';
import { clientBucket } from '../../common/http/client-address.js';
import { AppConfig } from '../../config/app-config.js';
import { SpentAddresses, type AppliedLimit } from './spent-addresses.js';

/** The per-address limits, by name: the ones a request counts against before anyone knows who sent it. */
export type AddressLimitName = 'anonymous' | 'auth';

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
  /** Addresses past their anonymous budget: refused credentials count there, so a token guesser is one. */
  private readonly spentAddresses = new SpentAddresses();

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

  /**
   * Refuses at once, before its credential is looked up, a request from an address whose
   * anonymous budget is spent. Refused credentials count against that budget (they have no
   * principal), so a flood of guessed tokens costs a lookup per request only until the
   * limit, and one Map lookup per request after it: no database, no Redis. A valid
   * credential from that address waits for the window too; it cannot be told from a guess
   * without the lookup this avoids.
   */
  refuseSpentAddress(req: Request, res: Response): void {
    if (!this.config.rateLimits.enabled) return;
    const spent = this.spentAddresses.check(clientBucket(req));
    if (!spent) return;
    req.appliedRateLimit = spent;
    refuse(res, spent);
  }

  /**
   * Counts a request to a route Express serves outside Nest (OAuth, the docs) against the
   * per-address limits `names`: the same buckets, headers and 429 as the API's routes.
   */
  async countByAddress(req: Request, res: Response, names: readonly AddressLimitName[]): Promise<void> {
    if (!this.config.rateLimits.enabled) return;
    const tracker = clientBucket(req);
    for (const throttler of this.throttlers as Throttler[]) {
      if (!(names as readonly string[]).includes(throttler.name)) continue;
      const { limit, ttl } = throttler;
      if (typeof limit !== 'number' || typeof ttl !== 'number') throw new Error(`${throttler.name} is not per address`);
      await this.apply(req, res, throttler.name, tracker, limit, ttl);
    }
    if (req.appliedRateLimit) setRateLimitHeaders(res, req.appliedRateLimit);
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
    await this.apply(req, res, throttler.name, tracker, limit, ttl);
  }

  private async apply(req: Request, res: Response, name: string, tracker: string, limit: number, ttl: number) {
    // Buckets are per principal or address, not per route: one budget across the API.
    const record = await this.storageService.increment(`${name}:${tracker}`, ttl, limit, ttl, name);
    const applied: AppliedLimit = {
      name,
      limit,
      remaining: Math.max(0, limit - record.totalHits),
      resetSeconds: record.timeToExpire,
      windowSeconds: Math.ceil(ttl / 1000),
    };
    if (!req.appliedRateLimit || applied.remaining < req.appliedRateLimit.remaining) req.appliedRateLimit = applied;
    if (record.isBlocked) {
      if (name === 'anonymous') this.spentAddresses.note(tracker, applied);
      refuse(res, applied);
    }
  }

  /** Everything is skipped with RATE_LIMITS_ENABLED=false (benchmarks); else @SkipRateLimit() routes. */
  private isLimited(context: ExecutionContext): boolean {
    if (!this.config.rateLimits.enabled) return false;
    return routeSecurity(context.getHandler(), context.getClass()).rateLimit?.kind !== 'skip';
  }
}

function refuse(res: Response, applied: AppliedLimit): never {
  setRateLimitHeaders(res, applied);
  throw new TooManyRequestsError(`Rate limit "${applied.name}" exceeded; slow down.`, applied.resetSeconds);
}

function setRateLimitHeaders(res: Response, applied: AppliedLimit): void {
  res.setHeader('RateLimit-Limit', String(applied.limit));
  res.setHeader('RateLimit-Remaining', String(applied.remaining));
  res.setHeader('RateLimit-Reset', String(applied.resetSeconds));
  res.setHeader('RateLimit-Policy', `${applied.limit};w=${applied.windowSeconds};name="${applied.name}"`);
}
