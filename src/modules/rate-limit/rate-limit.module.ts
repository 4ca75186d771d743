import { Module, type ExecutionContext } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { ThrottlerModule, type ThrottlerOptions } from '@nestjs/throttler';
import type { Request } from 'express';
import { routeSecurity } from '../../common/auth/route-security.js';
import { clientBucket } from '../../common/http/client-address.js';
import { CounterStore } from '../../common/redis/counter-store.js';
import { AppConfig } from '../../config/app-config.js';
import { CounterThrottlerStorage } from './counter-throttler-storage.js';
import { RateLimitGuard } from './rate-limit.guard.js';

const requestOf = (context: ExecutionContext) => context.switchToHttp().getRequest<Request>();

/**
 * The named limits (DRF's AnonRateThrottle, UserRateThrottle, ScopedRateThrottle, plus
 * each API key's own): a request counts against its address when anonymous, else against
 * its user (an API key's requests too) and, for an API key, the key's own bucket; routes
 * marked @ScopedRateLimit('auth') also against the stricter per-address one.
 */
function throttlers(config: AppConfig): ThrottlerOptions[] {
  const { anonymous, user, auth } = config.rateLimits;
  const byAddress = (req: Record<string, unknown>) => clientBucket(req as unknown as Request);
  return [
    {
      name: 'anonymous',
      limit: anonymous.limit,
      ttl: anonymous.windowSeconds * 1000,
      skipIf: (context) => requestOf(context).principal !== undefined,
      getTracker: byAddress,
    },
    {
      name: 'user',
      limit: user.limit,
      ttl: user.windowSeconds * 1000,
      // API-key traffic counts here too: a key's own limit never lifts its owner's budget.
      skipIf: (context) => requestOf(context).principal === undefined,
      getTracker: (req) => (req as unknown as Request).principal?.userId ?? '',
    },
    {
      name: 'api-key',
      limit: (context) => requestOf(context).principal?.credentialRateLimit ?? config.apiKeys.defaultRateLimitPerMinute,
      ttl: 60_000,
      skipIf: (context) => requestOf(context).principal?.authMethod !== 'api-key',
      getTracker: (req) => (req as unknown as Request).principal?.credentialId ?? '',
    },
    {
      name: 'auth',
      limit: auth.limit,
      ttl: auth.windowSeconds * 1000,
      skipIf: (context) => {
        const { rateLimit } = routeSecurity(context.getHandler(), context.getClass());
        return rateLimit?.kind !== 'scoped' || rateLimit.scope !== 'auth';
      },
      getTracker: byAddress,
    },
  ];
}

@Module({
  imports: [
    DiscoveryModule,
    ThrottlerModule.forRootAsync({
      inject: [AppConfig, CounterStore],
      useFactory: (config: AppConfig, counters: CounterStore) => ({
        throttlers: throttlers(config),
        storage: new CounterThrottlerStorage(counters),
        setHeaders: false,
      }),
    }),
  ],
  providers: [RateLimitGuard],
  exports: [RateLimitGuard],
})
export class RateLimitModule {}
