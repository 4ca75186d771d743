import { Controller, Get, Module, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
// oxlint-disable-next-line no-restricted-imports -- this spec proves the boot refuses them
import { Throttle } from '@nestjs/throttler';
import { LoggerModule } from 'nestjs-pino';
import { describe, expect, it } from 'vitest';
import { Public } from '../../common/auth/public.decorator.js';
import { MetricsModule } from '../../common/metrics/metrics-registry.js';
import { RedisModule } from '../../common/redis/redis.module.js';
import { loadConfig } from '../../config/app-config.js';
import { ConfigModule } from '../../config/config.module.js';
import { RateLimitModule } from './rate-limit.module.js';

/** Boots the rate limiter (no HTTP, counters in memory) with one controller. */
async function boot(controller: Type): Promise<void> {
  @Module({
    imports: [
      ConfigModule.forRoot(loadConfig({ NODE_ENV: 'test' })),
      LoggerModule.forRoot({ pinoHttp: { level: 'silent' } }),
      MetricsModule,
      RedisModule,
      RateLimitModule,
    ],
    controllers: [controller],
  })
  class AppUnderTest {}
  const app = await NestFactory.createApplicationContext(AppUnderTest, { logger: false, abortOnError: false });
  await app.close();
}

describe('RateLimitGuard at boot', () => {
  it("should refuse to boot with a route using @nestjs/throttler's @Throttle, which nothing would read", async () => {
    @Public()
    @Controller('throttled')
    class ThrottledController {
      @Throttle({ default: { limit: 1, ttl: 1000 } })
      @Get()
      throttled() {}
    }
    await expect(boot(ThrottledController)).rejects.toThrow(/ThrottledController\.throttled uses @nestjs\/throttler/);
  });

  it('should boot with our own declarations', async () => {
    @Public()
    @Controller('fine')
    class FineController {
      @Get()
      fine() {}
    }
    await expect(boot(FineController)).resolves.toBeUndefined();
  });
});
