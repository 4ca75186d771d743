import type { LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Logger } from 'nestjs-pino';
import { AppModule, mountExpressPipeline, type AppModuleOptions } from './app.module.js';
import { answerMalformedRequests } from './common/http/malformed-requests.js';
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
  app.useLogger(app.get(Logger));
  answerMalformedRequests(app.getHttpServer());
  mountExpressPipeline(app, config);
  await app.init();
  return app;
}
