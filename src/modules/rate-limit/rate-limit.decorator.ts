import { SetMetadata } from '@nestjs/common';

export const RATE_LIMIT_SCOPE = 'rate-limit:scope';

/** Scoped limits a route may declare (DRF's ScopedRateThrottle), configured in AppConfig. */
export type RateLimitScope = 'auth';

/** One line on a route: it also counts against the stricter limit of `scope` (per address). */
export const ScopedRateLimit = (scope: RateLimitScope) => SetMetadata(RATE_LIMIT_SCOPE, scope);

export const RATE_LIMIT_SKIP = 'rate-limit:skip';

/** For probes and scrapers that must never be turned away (health checks). */
export const SkipRateLimit = () => SetMetadata(RATE_LIMIT_SKIP, true);
