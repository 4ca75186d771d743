import { declareOnce, ROUTE_RATE_LIMIT, type RateLimitScope } from '../../common/auth/route-security.js';

export type { RateLimitScope } from '../../common/auth/route-security.js';

const WHAT = 'rate limit (@ScopedRateLimit/@SkipRateLimit)';

/** One line on a route or controller: it also counts against the stricter limit of `scope` (per address). */
export const ScopedRateLimit = (scope: RateLimitScope) =>
  declareOnce(ROUTE_RATE_LIMIT, WHAT, { kind: 'scoped', scope });

/** For probes and scrapers that must never be turned away (health checks). */
export const SkipRateLimit = () => declareOnce(ROUTE_RATE_LIMIT, WHAT, { kind: 'skip' });
