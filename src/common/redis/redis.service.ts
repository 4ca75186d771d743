import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { AppConfig } from '../../config/app-config.js';

/** Far above a healthy Redis's answer time (well under a millisecond), far below a client's patience. */
const COMMAND_TIMEOUT_MS = 1_000;

/**
 * The Redis connections of this instance, when REDIS_URL is set: one for commands and one
 * per subscriber (a subscribed connection can do nothing else). Without REDIS_URL the
 * instance keeps its shared state in memory and is authoritative alone.
 */
@Injectable()
export class RedisService implements OnApplicationShutdown {
  readonly client: Redis | undefined;
  private readonly connections: Redis[] = [];

  constructor(
    private readonly config: AppConfig,
    @InjectPinoLogger(RedisService.name) private readonly logger: PinoLogger,
  ) {
    this.client = config.redis.url ? this.connect('commands') : undefined;
  }

  get enabled(): boolean {
    return this.client !== undefined;
  }

  /** A dedicated connection for pub/sub. */
  createSubscriber(): Redis {
    if (!this.config.redis.url) throw new Error('Redis is not configured');
    return this.connect('subscriber');
  }

  private connect(role: string): Redis {
    const connection = new Redis(this.config.redis.url as string, {
      // Applies to keys only: pub/sub channel names are prefixed by their users.
      keyPrefix: this.config.redis.keyPrefix,
      // Fail commands fast while Redis is away; callers fall back to local state.
      maxRetriesPerRequest: 1,
      enableOfflineQueue: role === 'subscriber',
      // And while it hangs with the connection open (frozen, partitioned): no answer in time
      // is a failure too, or every request would wait on it for as long as TCP keeps trying.
      ...(role === 'subscriber' ? {} : { commandTimeout: COMMAND_TIMEOUT_MS }),
      // Commands issued in the same tick (concurrent requests) share one write and one read.
      enableAutoPipelining: role !== 'subscriber',
      connectTimeout: 2_000,
      retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
    });
    let reported = false;
    connection.on('error', (error: Error) => {
      if (reported) return;
      reported = true;
      this.logger.error({ err: error, role }, 'redis connection error');
    });
    connection.on('ready', () => {
      if (reported) this.logger.info({ role }, 'redis connection restored');
      reported = false;
    });
    this.connections.push(connection);
    return connection;
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all(this.connections.map((c) => c.quit().catch(() => c.disconnect())));
  }
}
