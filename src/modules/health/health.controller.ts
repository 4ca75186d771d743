import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import {
  HealthCheck,
  HealthCheckService,
  HealthIndicatorService,
  TypeOrmHealthIndicator,
  type HealthCheckResult,
} from '@nestjs/terminus';
import { Public } from '../../common/auth/public.decorator.js';
import { AuditPrivileges } from '../audit/audit-privileges.js';
import { SkipRateLimit } from '../rate-limit/rate-limit.decorator.js';
import { Lifecycle } from './lifecycle.js';
import { LIVE } from './liveness.js';
import { PROBE_TIMEOUT_MS, RedisReadiness, type RedisHealth } from './redis-readiness.js';

/** Terminus's answer, with Redis beside the checks that decide it. */
export type ReadinessResult = HealthCheckResult & { details: { redis?: RedisHealth } };

/**
 * Liveness and readiness, as an orchestrator reads them (docs/deploy.md, "Probes"):
 * - live: the process runs; a failure means "restart me". It checks no dependency, or a
 *   database outage would restart every instance at once.
 * - ready: "send me traffic". 503 while shutting down or when Postgres does not answer
 *   (every request would fail). Redis is reported but never decides it: without Redis each
 *   instance counts limits in its own memory, so a Redis outage is degraded, not down, and
 *   must not take every instance out of rotation together.
 */
@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly database: TypeOrmHealthIndicator,
    private readonly redis: RedisReadiness,
    private readonly lifecycle: Lifecycle,
    private readonly auditPrivileges: AuditPrivileges,
  ) {}

  /**
   * The process is up and its event loop turns. The one route without a rate limit: the
   * orchestrator restarts an instance whose liveness fails, so a flood from an address
   * must not make it fail, and it does no work to protect (no database, no credential).
   * Readiness is limited like any route (an orchestrator probes far below the limit).
   * A probe without a credential is answered before Nest (`answerLivenessEarly`); this route
   * answers the others, after the guard has checked their credential.
   */
  @Get('live')
  @Public()
  @SkipRateLimit()
  @ApiOperation({ operationId: 'getLiveness', summary: 'Liveness: the process runs' })
  @ApiOkResponse({ description: 'The process runs' })
  live(): typeof LIVE {
    return LIVE;
  }

  /** Ready for traffic: not shutting down and the database answers; Redis is reported, up or degraded. */
  @Get('ready')
  @Public()
  @HealthCheck()
  @ApiOperation({
    operationId: 'getReadiness',
    summary: 'Readiness: the database answers and the instance is not draining',
  })
  @ApiOkResponse({ description: 'Ready; `details.redis.status` is `up` or `degraded` (limits count per instance)' })
  @ApiServiceUnavailableResponse({ description: 'Shutting down, or the database does not answer' })
  async ready(): Promise<ReadinessResult> {
    const [result, redis] = await Promise.all([
      this.health.check([
        () => {
          const instance = this.indicators.check('instance');
          return this.lifecycle.isDraining ? instance.down('shutting down') : instance.up();
        },
        () => this.database.pingCheck('database').withTimeout(PROBE_TIMEOUT_MS),
        // A warning, never a refusal: a single-role deployment runs, and says so.
        () => this.indicators.check('auditTrail').up(this.auditPrivileges.status),
      ]),
      this.redis.probe(),
    ]);
    return redis ? { ...result, details: { ...result.details, redis } } : result;
  }
}
