import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import {
  HealthCheck,
  HealthCheckService,
  HealthIndicatorService,
  TypeOrmHealthIndicator,
  type HealthCheckResult,
  type HealthIndicatorFunction,
} from '@nestjs/terminus';
import { Public } from '../../common/auth/public.decorator.js';
import { RedisService } from '../../common/redis/redis.service.js';
import { AuditPrivileges } from '../audit/audit-privileges.js';
import { SkipRateLimit } from '../rate-limit/rate-limit.decorator.js';
import { Lifecycle } from './lifecycle.js';

const PROBE_TIMEOUT_MS = 1_500;

@ApiTags('health')
@Controller('health')
@SkipRateLimit()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly database: TypeOrmHealthIndicator,
    private readonly redis: RedisService,
    private readonly lifecycle: Lifecycle,
    private readonly auditPrivileges: AuditPrivileges,
  ) {}

  /** The process is up and its event loop turns. */
  @Get('live')
  @Public()
  @ApiOkResponse({ description: 'The process runs' })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Ready for traffic: not shutting down, and the database (and Redis, when configured) answers. */
  @Get('ready')
  @Public()
  @HealthCheck()
  @ApiOkResponse({ description: 'Dependencies answer' })
  @ApiServiceUnavailableResponse({ description: 'Shutting down, or a dependency does not answer' })
  ready(): Promise<HealthCheckResult> {
    const checks: HealthIndicatorFunction[] = [
      () => {
        const instance = this.indicators.check('instance');
        return this.lifecycle.isDraining ? instance.down('shutting down') : instance.up();
      },
      () => this.database.pingCheck('database').withTimeout(PROBE_TIMEOUT_MS),
      // A warning, never a refusal: a single-role deployment runs, and says so.
      () => this.indicators.check('auditTrail').up(this.auditPrivileges.status),
    ];
    const client = this.redis.client;
    if (client) {
      checks.push(() =>
        this.indicators
          .check('redis')
          .attempt(async () => {
            await client.ping();
          })
          .withTimeout(PROBE_TIMEOUT_MS),
      );
    }
    return this.health.check(checks);
  }
}
