import { Module, RequestMethod, type DynamicModule, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { LoggerModule } from 'nestjs-pino';
import type { DestinationStream } from 'pino';
import { ProblemDetailsFilter } from './common/errors/problem-details.filter.js';
import { JsonBodyMiddleware } from './common/http/json-body.middleware.js';
import { createValidationPipe } from './common/http/validation.js';
import { loggerOptions } from './common/logging/logger.options.js';
import type { AppConfig } from './config/app-config.js';
import { ConfigModule } from './config/config.module.js';
import { MetricsModule } from './common/metrics/metrics-registry.js';
import { RedisModule } from './common/redis/redis.module.js';
import { DatabaseModule } from './db/database.module.js';
import { ApiKeysModule } from './modules/api-keys/api-keys.module.js';
import { AuditModule } from './modules/audit/audit.module.js';
import { AuthModule } from './modules/auth/auth.module.js';
import { BenchModule } from './modules/bench/bench.module.js';
import { HealthModule } from './modules/health/health.module.js';
import { MailModule } from './modules/mail/mail.module.js';
import { OAuthModule } from './modules/oauth/oauth.module.js';
import { ResourcesModule } from './modules/resources/resources.module.js';
import { UsersModule } from './modules/users/users.module.js';

export interface AppModuleOptions {
  /** Where logs go instead of stdout (tests read them). */
  logDestination?: DestinationStream;
}

@Module({})
export class AppModule implements NestModule {
  static forRoot(config: AppConfig, options: AppModuleOptions = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        EventEmitterModule.forRoot(),
        LoggerModule.forRoot(loggerOptions(config, options.logDestination)),
        DatabaseModule.forRoot(config),
        RedisModule,
        MetricsModule,
        AuditModule,
        HealthModule,
        MailModule,
        UsersModule,
        AuthModule,
        ResourcesModule,
        ApiKeysModule,
        OAuthModule,
        ...(config.app.enableBenchRoutes ? [BenchModule] : []),
      ],
      providers: [
        { provide: APP_FILTER, useClass: ProblemDetailsFilter },
        { provide: APP_PIPE, useFactory: createValidationPipe },
      ],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(JsonBodyMiddleware).forRoutes({ path: '*path', method: RequestMethod.ALL });
  }
}
