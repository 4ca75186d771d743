import {
  Module,
  RequestMethod,
  type DynamicModule,
  type MiddlewareConsumer,
  type NestModule,
  type Provider,
} from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_PIPE } from '@nestjs/core';
import { EventEmitterModule } from '@nestjs/event-emitter';
import type { NestExpressApplication } from '@nestjs/platform-express';
import cookieParser from 'cookie-parser';
import type { Express } from 'express';
import { LoggerModule, PinoLogger } from 'nestjs-pino';
import type { DestinationStream } from 'pino';
import type { AuditAction } from './common/audit/audit-actions.js';
import { routeSecurity } from './common/auth/route-security.js';
import { ProblemDetailsFilter } from './common/errors/problem-details.filter.js';
import { JsonBodyMiddleware } from './common/http/json-body.middleware.js';
import { mountOpenApi } from './common/http/openapi.js';
import { requestContext } from './common/http/request-context.js';
import { requestId } from './common/http/request-id.js';
import { securityHeaders } from './common/http/security-headers.js';
import { createValidationPipe } from './common/http/validation.js';
import { loggerOptions } from './common/logging/logger.options.js';
import { logRequests } from './common/logging/request-log.js';
import type { AppConfig } from './config/app-config.js';
import { ConfigModule } from './config/config.module.js';
import { MetricsModule, MetricsRegistry } from './common/metrics/metrics-registry.js';
import { RedisModule } from './common/redis/redis.module.js';
import { DatabaseModule } from './db/database.module.js';
import { ApiKeysModule } from './modules/api-keys/api-keys.module.js';
import { AuditModule } from './modules/audit/audit.module.js';
import { AuthModule } from './modules/auth/auth.module.js';
import { CredentialGuard } from './modules/auth/credential.guard.js';
import { carriesCredential } from './modules/auth/credentials.js';
import { BenchModule } from './modules/bench/bench.module.js';
import { HealthController } from './modules/health/health.controller.js';
import { HealthModule } from './modules/health/health.module.js';
import { answerLivenessEarly, LIVENESS_PATH } from './modules/health/liveness.js';
import { mountOAuth } from './modules/oauth/mount-oauth.js';
import { limitExpressRoutes } from './modules/rate-limit/limit-express-routes.js';
import { MailModule } from './modules/mail/mail.module.js';
import { OAuthModule } from './modules/oauth/oauth.module.js';
import { ResourcesModule } from './modules/resources/resources.module.js';
import { RetentionModule } from './modules/retention/retention.module.js';
import { UsersModule } from './modules/users/users.module.js';

/*
 * The request pipeline, listed once, in the order a request meets it:
 *
 *   1. Express middleware (`mountExpressPipeline`): request id, request context (logs),
 *      metrics, security headers, cookies, CORS.
 *      Liveness without a credential is answered right there (`answerLivenessEarly`): it has
 *      nothing for the rest to check. With one, it goes on to its Nest route like any request.
 *   2. Routes Express serves itself (`EXPRESS_ROUTES`): /metrics, the OAuth authorization
 *      server and its pages, the OpenAPI docs. Nothing below applies to them.
 *   3. Nest middleware (`AppModule.configure`): JSON bodies, parse errors as problem+json.
 *   4. Guard (`GLOBAL_ENHANCERS`): CredentialGuard authenticates, rate limits, checks CSRF
 *      for sessions, then the route's access declaration.
 *   5. Interceptor: AuditInterceptor, one audit event per request to an @Audited route;
 *      `@Audited` attaches it to its routes only, so the others skip the interceptor chain.
 *   6. Pipe: validation of DTOs (unknown fields and JSON null refused).
 *   7. The handler: controller → service → repository.
 *   8. Filter: ProblemDetailsFilter renders every error as RFC 9457 problem+json.
 *
 * Guards, pipes and filters run in this order whatever their place in the array; the array
 * is in it so that reading it tells the truth.
 */
const GLOBAL_ENHANCERS: Provider[] = [
  { provide: APP_GUARD, useExisting: CredentialGuard },
  { provide: APP_PIPE, useFactory: createValidationPipe },
  { provide: APP_FILTER, useClass: ProblemDetailsFilter },
];

/** A route Express serves before Nest, with what stands in for the guard, the limiter and the interceptor there. */
export interface ExpressRoute {
  readonly method: 'GET' | 'POST' | 'ALL';
  /** As Express matches it; a trailing `/*` covers everything below the prefix. */
  readonly path: string;
  readonly access: string;
  readonly rateLimit: string;
  readonly audit: readonly AuditAction[];
}

/**
 * Every route of step 2, reviewed in the route-policy snapshot, which checks this list
 * against the routes Express really has (so a new `app.use` without a line here fails it).
 */
export const EXPRESS_ROUTES: readonly ExpressRoute[] = [
  {
    method: 'GET',
    path: '/metrics',
    access: 'Bearer METRICS_TOKEN (absent without one)',
    rateLimit: 'anonymous (per address)',
    audit: [],
  },
  {
    method: 'ALL',
    path: '/oauth/*',
    access: 'oidc-provider, per endpoint: client authentication, PKCE, access token',
    rateLimit: 'anonymous; POST /oauth/token also auth (per address)',
    audit: [
      'oauth.authorize',
      'oauth.grant',
      'oauth.grant.revoke',
      'oauth.introspect',
      'oauth.revoke',
      'oauth.token.issue',
      'oauth.token.revoke',
    ],
  },
  {
    method: 'GET',
    path: '/oauth/interaction/:uid',
    access: 'the interaction cookie',
    rateLimit: 'anonymous (per address)',
    audit: [],
  },
  {
    method: 'POST',
    path: '/oauth/interaction/:uid/login',
    access: 'the interaction cookie + form CSRF token',
    rateLimit: 'anonymous+auth (per address), lockout (email, address)',
    audit: ['auth.login', 'auth.lockout'],
  },
  {
    method: 'POST',
    path: '/oauth/interaction/:uid/confirm',
    access: 'the interaction cookie + form CSRF token, signed in',
    rateLimit: 'anonymous (per address)',
    audit: ['oauth.consent'],
  },
  {
    method: 'POST',
    path: '/oauth/interaction/:uid/abort',
    access: 'the interaction cookie + form CSRF token',
    rateLimit: 'anonymous (per address)',
    audit: ['oauth.consent'],
  },
  ...['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration'].map((path) => ({
    method: 'GET' as const,
    path,
    access: 'public (the provider discovery document, issuer PUBLIC_URL)',
    rateLimit: 'anonymous (per address)',
    audit: [],
  })),
  { method: 'GET', path: '/docs', access: 'public', rateLimit: 'anonymous (per address)', audit: [] },
  { method: 'GET', path: '/docs/openapi.json', access: 'public', rateLimit: 'anonymous (per address)', audit: [] },
  { method: 'GET', path: '/docs/openapi.yaml', access: 'public', rateLimit: 'anonymous (per address)', audit: [] },
  {
    method: 'GET',
    path: '/docs/*',
    access: 'public (Swagger UI assets)',
    rateLimit: 'anonymous (per address)',
    audit: [],
  },
];

/** Steps 1 and 2: must run before `app.init()`, so that these see requests before Nest's routes do. */
export function mountExpressPipeline(app: NestExpressApplication, config: AppConfig): void {
  app.disable('x-powered-by');
  // Resources send their version as the ETag (If-Match, 412). Express's own ETag would hash
  // every other body, a digest per response that no client of this API revalidates with.
  app.disable('etag');
  app.set('trust proxy', config.http.trustProxy);
  app.use(requestId);
  app.use(requestContext);
  app.use(logRequests(PinoLogger.root, config.log.level));
  const metrics = app.get(MetricsRegistry);
  app.use(metrics.httpMiddleware());
  app.use(securityHeaders(config));
  app.use(cookieParser());
  if (config.http.corsOrigins.length > 0) {
    const anyOrigin = config.http.corsOrigins.includes('*');
    app.enableCors({
      origin: anyOrigin ? '*' : config.http.corsOrigins,
      credentials: !anyOrigin,
      exposedHeaders: [
        'X-Request-Id',
        'ETag',
        'Location',
        'Retry-After',
        'RateLimit-Limit',
        'RateLimit-Remaining',
        'RateLimit-Reset',
        'RateLimit-Policy',
      ],
      maxAge: 600,
    });
  }
  // A route of Express's own (not `app.use`), so logs and metrics name it as they name Nest's.
  const liveness = routeSecurity(HealthController.prototype.live, HealthController);
  (app.getHttpAdapter().getInstance() as Express).get(LIVENESS_PATH, answerLivenessEarly(liveness, carriesCredential));
  // Served by Express outside Nest's guards, so limited here like every API route.
  limitExpressRoutes(app, '/metrics', () => ['anonymous']);
  app.use('/metrics', metrics.endpoint(config.metrics.token));
  mountOAuth(app);
  limitExpressRoutes(app, '/docs', () => ['anonymous']);
  mountOpenApi(app, config);
}

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
        RetentionModule.scheduled(),
        ...(config.app.enableBenchRoutes ? [BenchModule] : []),
      ],
      providers: GLOBAL_ENHANCERS,
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(JsonBodyMiddleware).forRoutes({ path: '*path', method: RequestMethod.ALL });
  }
}
