import { Injectable, type BeforeApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { AppConfig } from '../../config/app-config.js';
import { RetentionService } from './retention.service.js';

/**
 * Runs the purge every RETENTION_INTERVAL on every instance (the deletes are idempotent, so
 * no coordination is needed). The timer does not keep the process alive, and shutdown
 * waits for a purge in progress before the database closes.
 */
@Injectable()
export class RetentionScheduler implements OnModuleInit, BeforeApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly config: AppConfig,
    private readonly retention: RetentionService,
    @InjectPinoLogger(RetentionScheduler.name) private readonly logger: PinoLogger,
  ) {}

  onModuleInit(): void {
    const seconds = this.config.retention.intervalSeconds;
    // Fire and forget: a tick has no one to answer to, and purge() logs its own failure.
    if (seconds > 0) this.timer = setInterval(() => void this.run(), seconds * 1000).unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One purge; a tick that comes while the previous purge still runs joins it. */
  run(): Promise<void> {
    this.running ??= this.purge().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async purge(): Promise<void> {
    try {
      const counts = await this.retention.purgeExpired();
      const total = Object.values(counts).reduce<number>((sum, n) => sum + (n ?? 0), 0);
      if (total > 0) this.logger.info({ purged: counts }, 'retention purge');
      else this.logger.debug({ purged: counts }, 'retention purge');
    } catch (error) {
      this.logger.error({ err: error }, 'retention purge failed');
    }
  }
}
