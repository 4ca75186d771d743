import type { Server } from 'node:http';
import type { LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import cookieParser from 'cookie-parser';
import { Logger } from 'nestjs-pino';
import { AppModule, type AppModuleOptions } from './app.module.js';
import { MetricsRegistry } from './common/metrics/metrics-registry.js';
import { answerMalformedRequests } from './common/http/malformed-requests.js';
import { quietFramework } from './common/logging/framework-logs.js';
import { mountOpenApi } from './common/http/openapi.js';
import { requestContext } from './common/http/request-context.js';
import { requestId } from './common/http/request-id.js';
import { securityHeaders } from './common/http/security-headers.js';
import { mountOAuth } from './modules/oauth/mount-oauth.js';
import type { AppConfig } from './config/app-config.js';

/** Builds the fully configured application; main.ts listens on it, tests drive it directly. */
export async function createApp(config: AppConfig, options: AppModuleOptions = {}): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config, options), {
    // Parsed by JsonBodyMiddleware, so parse errors reach the problem-details filter.
    bodyParser: false,
    bufferLogs: true,
    abortOnError: false,
    logger: ['error', 'warn'] satisfies LogLevel[],
  });
  app.useLogger(quietFramework(app.get(Logger)));
  const server = app.getHttpServer() as Server;
  answerMalformedRequests(server);
  // Idle connections outlive the proxy's own keep-alive, so the proxy always closes them first.
  server.keepAliveTimeout = config.app.keepAliveTimeoutMs;
  server.headersTimeout = config.app.headersTimeoutMs;
  app.disable('x-powered-by');
  app.set('trust proxy', config.http.trustProxy);
  app.use(requestId);
  app.use(requestContext);
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
  app.use('/metrics', metrics.endpoint(config.metrics.token));
  mountOAuth(app);
  mountOpenApi(app, config);
  await app.init();
  return app;
}
