import type { Server } from 'node:http';
import type { LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Logger } from 'nestjs-pino';
import { AppModule, mountExpressPipeline, type AppModuleOptions } from './app.module.js';
import { answerMalformedRequests } from './common/http/malformed-requests.js';
import { quietFramework } from './common/logging/framework-logs.js';
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
  mountExpressPipeline(app, config);
  await app.init();
  return app;
}
