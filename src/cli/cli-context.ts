import { existsSync } from 'node:fs';
import { ConsoleLogger, Module, type DynamicModule, type INestApplicationContext, type LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { TypeOrmModule } from '@nestjs/typeorm';
import { LoggerModule } from 'nestjs-pino';
import pino from 'pino';
import { MetricsModule } from '../common/metrics/metrics-registry.js';
import { RedisModule } from '../common/redis/redis.module.js';
import { loadConfig, type AppConfig } from '../config/app-config.js';
import { ConfigModule } from '../config/config.module.js';
import { dataSourceOptions } from '../db/data-source-options.js';
import { openDataSource } from '../db/database.module.js';
import { AuditModule } from '../modules/audit/audit.module.js';
import { MailModule } from '../modules/mail/mail.module.js';
import { isOperatorError } from './cli-command.js';

/** The same configuration the server would boot with, `.env` included. */
export function loadCliConfig(): AppConfig {
  if (existsSync('.env')) process.loadEnvFile('.env');
  return loadConfig(process.env);
}

/** Nest's logger sends warnings to stdout; a command's stdout is its result, so all goes to stderr. */
class StderrLogger extends ConsoleLogger {
  protected override printMessages(
    messages: unknown[],
    context?: string,
    logLevel?: LogLevel,
    _writeStreamType?: 'stdout' | 'stderr',
    errorStack?: unknown,
  ): void {
    super.printMessages(messages, context, logLevel, 'stderr', errorStack);
  }

  override error(message: unknown, ...rest: unknown[]): void {
    // A failed boot is reported once, as one plain line, by cli.ts.
    if (isOperatorError(message)) return;
    super.error(message, ...rest);
  }
}

/**
 * For a command that changes who can do what (create-admin): the audit module as the server
 * runs it, so the command's AUDIT_RECORD events are stored, flushed when the context closes.
 * Its logger writes to stderr: a command's stdout is its result.
 */
export function auditImports(config: AppConfig): NonNullable<DynamicModule['imports']> {
  return [
    LoggerModule.forRoot({ pinoHttp: [{ level: config.log.level }, pino.destination(2)] }),
    MetricsModule,
    // The audit module signs checkpoints with the auth module's keys; auth shares state
    // through Redis and queues mail through the outbox (global modules in the server).
    RedisModule,
    MailModule,
    AuditModule,
  ];
}

@Module({})
class CliModule {
  /** Config and database, plus the feature modules the command uses: no HTTP, no guards. */
  static with(config: AppConfig, imports: NonNullable<DynamicModule['imports']>): DynamicModule {
    return {
      module: CliModule,
      imports: [
        ConfigModule.forRoot(config),
        // Services emit domain events (UsersService does); a command listens only to the
        // audit records of `auditImports`, when it loads them.
        EventEmitterModule.forRoot(),
        // DatabaseModule's setup, minus TypeOrmModule's 9 retries 3 s apart: a command fails
        // at once (a data folder held by the running server, a database that is down).
        TypeOrmModule.forRootAsync({
          useFactory: () => ({
            ...dataSourceOptions(config.db, undefined),
            toRetry: () => false,
          }),
          dataSourceFactory: () => openDataSource(config),
        }),
        ...imports,
      ],
    };
  }
}

/**
 * Boots an application context with only `imports`, runs `work`, and always closes the
 * context: with the embedded database that releases the data-folder lock.
 */
export async function withAppContext<T>(
  config: AppConfig,
  imports: NonNullable<DynamicModule['imports']>,
  work: (context: INestApplicationContext) => Promise<T>,
): Promise<T> {
  const context = await NestFactory.createApplicationContext(CliModule.with(config, imports), {
    logger: new StderrLogger({ logLevels: ['fatal', 'error', 'warn'] }),
    // A failed boot must reach our error handling, not abort the process.
    abortOnError: false,
  });
  try {
    return await work(context);
  } finally {
    await context.close();
  }
}
